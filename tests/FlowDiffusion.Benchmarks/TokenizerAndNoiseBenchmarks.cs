using BenchmarkDotNet.Attributes;
using FlowDiffusion.Diffusion.Noise;
using FlowDiffusion.Diffusion.Tokenization;

namespace FlowDiffusion.Benchmarks;

/// <summary>Prompt tokenizing (weights, 77-token windows) and seeded noise for a [1, 4, 128, 128] latent (1024×1024 image).</summary>
[MemoryDiagnoser]
public class TokenizerAndNoiseBenchmarks
{
    private static readonly string[] Prompts =
    [
        "a watercolor painting of an otter",
        "(masterpiece:1.2), a red circle on a blue background, [blurry], highly detailed",
        "A photograph of an astronaut riding a horse on the moon, 35mm, golden hour, (sharp focus)",
        "café über naïve — emoji 🦦 and digits 1234 in one prompt!",
    ];

    private ClipTokenizer _tokenizer = null!;
    private readonly float[] _noise = new float[4 * 128 * 128];

    [GlobalSetup]
    public void Setup()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "FlowDiffusion.sln"))) continue;
            _tokenizer = ClipTokenizer.FromFolder(Path.Combine(dir.FullName, "models", "tiny-sd"));
            return;
        }
        throw new InvalidOperationException("run from inside the repository");
    }

    /// <summary>Four prompts, each to weighted 77-token windows.</summary>
    [Benchmark(OperationsPerInvoke = 4)]
    public int TokenizePrompt()
    {
        var count = 0;
        foreach (var prompt in Prompts) count += _tokenizer.EncodePrompt(prompt).Chunks.Count;
        return count;
    }

    /// <summary>torch.randn([1, 4, 128, 128]) with a fresh seeded generator.</summary>
    [Benchmark]
    public float Noise_1x4x128x128()
    {
        new TorchGenerator(42).FillStandardNormal(_noise);
        return _noise[^1];
    }
}
