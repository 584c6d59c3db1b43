namespace FlowDiffusion.Cli.Bench;

/// <summary>What one benchmark measures: the model folder, image size, steps; both phases use the same.</summary>
/// <param name="Model">The diffusers-ONNX model folder.</param>
/// <param name="Size">Width and height in pixels.</param>
/// <param name="Steps">Denoising steps (Euler, as workflows/txt2img.yaml defaults to).</param>
/// <param name="Seed">The noise seed.</param>
internal sealed record BenchSettings(string Model, int Size, int Steps, int Seed)
{
    /// <summary>The guidance scale: txt2img.yaml's default, so each step is one batch-2 UNet call.</summary>
    public const double Cfg = 7.5;

    /// <summary>The scheduler both phases step with.</summary>
    public const string Scheduler = "euler";

    /// <summary>The prompt (any prompt costs the same: the text encoder always sees 77 tokens).</summary>
    public const string Prompt = "a watercolor painting of an otter";

    /// <summary>The model files a txt2img run loads, whose sizes make <c>weights_bytes</c>.</summary>
    public static readonly string[] Components = ["text_encoder", "unet", "vae_decoder"];

    /// <summary>Bytes of the loaded components' model and external-data files.</summary>
    public long WeightsBytes() => Components
        .Select(c => Path.Combine(Model, c))
        .Where(Directory.Exists)
        .SelectMany(d => Directory.EnumerateFiles(d).Where(f => !f.EndsWith(".json", StringComparison.Ordinal)))
        .Sum(f => new FileInfo(f).Length);
}
