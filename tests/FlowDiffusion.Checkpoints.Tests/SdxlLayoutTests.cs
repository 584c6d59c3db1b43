using FlowDiffusion.Checkpoints.Synthetic;
using FlowDiffusion.Checkpoints.Weights;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

public sealed class SdxlLayoutTests : IDisposable
{
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-sdxl-layout-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Sdxl_layout_has_sdxl_10s_published_parameter_counts()
    {
        // diffusers' parameters() of stabilityai/stable-diffusion-xl-base-1.0, as tools/reference/make_big_sdxl_checkpoint.py
        // --count also prints them from the SGM single-file shapes (independently of this layout).
        var layout = SdxlLayout.Sdxl;
        Assert.Equal(2_567_463_684, Sd1Layout.Count(layout.UNet()));
        Assert.Equal(123_060_480, Sd1Layout.Count(layout.TextEncoder()));
        Assert.Equal(694_659_840, Sd1Layout.Count(layout.TextEncoder2()));
        Assert.Equal(83_653_863, Sd1Layout.Count(layout.Vae()));
        Assert.Equal(2048, layout.ContextWidth);
    }

    [Fact]
    public void Layout_with_the_reference_checkpoints_widths_names_every_tensor_the_reference_has_at_its_shape()
    {
        // tools/reference/make_sdxl_checkpoint.py's widths: UNet 32 channels × (2, 1), one residual block, depths (0, 2);
        // CLIP and OpenCLIP 32 wide, 2 layers, projection 40, vocabulary 768. The reference writes SGM single-file
        // names; the checkpoint reader maps them to diffusers' names, which the layout writes directly.
        var layout = new SdxlLayout([64, 32], [0, 2], 2, 1, 32, 2, 32, 2, 40, 768, [32, 32, 32, 32]) { ModelChannels = 32 };
        using var reference = CheckpointWeights.Open(SdxlReference.File);
        AssertSameTensors(reference.Part(ModelPart.UNet), layout.UNet(), "UNet");
        AssertSameTensors(reference.Part(ModelPart.TextEncoder), layout.TextEncoder(), "text encoder");
        AssertSameTensors(reference.Part(ModelPart.TextEncoder2), layout.TextEncoder2(), "text encoder 2");
    }

    [Fact]
    public void Tiny_generated_sdxl_model_runs_its_unet_on_text_embeds_and_time_ids_and_both_text_encoders()
    {
        var folder = Path.Combine(_scratch, "tiny-sdxl");
        SyntheticModel.Generate(SdxlLayout.Tiny, folder, TinyTokenizer, seed: 3);
        Assert.Equal([Path.GetFileName(folder)], Directory.GetFileSystemEntries(_scratch).Select(Path.GetFileName));
        foreach (var part in new[] { "text_encoder", "text_encoder_2", "unet", "vae_decoder", "vae_encoder", "tokenizer", "tokenizer_2" })
        {
            Assert.True(Directory.Exists(Path.Combine(folder, part)), part);
        }

        using var unet = new InferenceSession(Path.Combine(folder, "unet", "model.onnx"));
        Assert.Equal(["encoder_hidden_states", "sample", "text_embeds", "time_ids", "timestep"], unet.InputNames.Order());
        var sample = Enumerable.Range(0, 2 * 4 * 8 * 8).Select(i => MathF.Sin(i * 0.37f)).ToArray();
        var context = Enumerable.Range(0, 2 * 77 * 64).Select(i => MathF.Cos(i * 0.11f)).ToArray();
        var pooled = Enumerable.Range(0, 2 * 40).Select(i => MathF.Sin(i * 0.7f)).ToArray();
        float[] timeIds = [64, 64, 0, 0, 64, 64, 64, 64, 0, 0, 64, 64];
        using var values = new DisposableList
        {
            OrtValue.CreateTensorValueFromMemory(sample, [2, 4, 8, 8]),
            OrtValue.CreateTensorValueFromMemory(new float[] { 999f, 999f }, [2]),
            OrtValue.CreateTensorValueFromMemory(context, [2, 77, 64]),
            OrtValue.CreateTensorValueFromMemory(pooled, [2, 40]),
            OrtValue.CreateTensorValueFromMemory(timeIds, [2, 6]),
        };
        using var results = unet.Run(new RunOptions(), ["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"], values, [unet.OutputNames[0]]);
        var noise = results[0].GetTensorDataAsSpan<float>().ToArray();
        Assert.Equal(2 * 4 * 8 * 8, noise.Length);
        Assert.All(noise, v => Assert.True(float.IsFinite(v)));
        Assert.True(noise.Select(MathF.Abs).Max() > 1e-3f, "random weights should give a non-zero prediction");

        using var text2 = new InferenceSession(Path.Combine(folder, "text_encoder_2", "model.onnx"));
        Assert.Contains("text_embeds", text2.OutputNames);
    }

    public void Dispose()
    {
        if (Directory.Exists(_scratch))
        {
            Directory.Delete(_scratch, recursive: true);
        }
    }

    private static string TinyTokenizer => Path.Combine(RepoRoot(), "models", "tiny-sd", "tokenizer");

    private static void AssertSameTensors(IReadOnlyDictionary<string, StoredTensor> expected, IEnumerable<(string Name, long[] Shape)> actual, string what)
    {
        var layout = actual.ToDictionary(t => t.Name, t => string.Join('×', t.Shape));
        // The int64 position_ids buffer CLIP checkpoints carry is no weight; the layout (like the graphs) has none.
        var reference = expected.Where(t => !t.Key.EndsWith("position_ids", StringComparison.Ordinal)).ToDictionary(t => t.Key, t => string.Join('×', t.Value.Shape));
        Assert.True(layout.Count == actual.Count(), $"{what}: the layout names a tensor twice");
        var problems = reference.Keys.Except(layout.Keys).Order().Select(k => $"the layout lacks {k}")
            .Concat(layout.Keys.Except(reference.Keys).Order().Select(k => $"the reference lacks {k}"))
            .Concat(reference.Where(r => layout.TryGetValue(r.Key, out var shape) && shape != r.Value).Select(r => $"{r.Key}: reference {r.Value}, layout {layout[r.Key]}"))
            .ToList();
        Assert.True(problems.Count == 0, $"{what}: " + string.Join("; ", problems));
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FlowDiffusion.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("FlowDiffusion.sln not found above " + AppContext.BaseDirectory);
    }

    private sealed class DisposableList : List<OrtValue>, IDisposable
    {
        public void Dispose()
        {
            foreach (var value in this)
            {
                value.Dispose();
            }
        }
    }
}
