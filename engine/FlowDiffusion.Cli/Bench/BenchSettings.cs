namespace FlowDiffusion.Cli.Bench;

/// <summary>What one benchmark measures: the model folder, image size, steps, mode; every phase uses the same.</summary>
/// <param name="Model">The diffusers-ONNX model folder.</param>
/// <param name="Size">Width and height in pixels.</param>
/// <param name="Steps">Denoising steps (Euler, as workflows/txt2img.yaml defaults to); img2img runs round(steps × strength) of them.</param>
/// <param name="Seed">The noise seed.</param>
/// <param name="Mode"><see cref="Txt2Img"/> or <see cref="Img2Img"/>: the saved workflow of that name.</param>
/// <param name="Strength">img2img's denoising strength.</param>
internal sealed record BenchSettings(string Model, int Size, int Steps, int Seed, string Mode = BenchSettings.Txt2Img, double Strength = BenchSettings.DefaultStrength)
{
    /// <summary>Text to image: encode, the whole schedule, decode.</summary>
    public const string Txt2Img = "txt2img";

    /// <summary>Image to image: VAE encode of an image, the schedule's last round(steps × strength) steps, decode.</summary>
    public const string Img2Img = "img2img";

    /// <summary>img2img.yaml's default strength.</summary>
    public const double DefaultStrength = 0.75;

    /// <summary>The guidance scale: txt2img.yaml's default, so each step is one batch-2 UNet call.</summary>
    public const double Cfg = 7.5;

    /// <summary>The scheduler both phases step with.</summary>
    public const string Scheduler = "euler";

    /// <summary>The prompt (any prompt costs the same: the text encoder always sees 77 tokens).</summary>
    public const string Prompt = "a watercolor painting of an otter";

    /// <summary>The image img2img starts from (resized to the bench's size by image.load).</summary>
    public const string Image = "workflows/assets/landscape.png";

    /// <summary>Whether this is an img2img bench.</summary>
    public bool IsImg2Img => Mode == Img2Img;

    /// <summary>Whether the model is an SDXL folder (it has <c>text_encoder_2</c>): the engine then runs the <c>sdxl-</c> workflow of the mode.</summary>
    public bool IsSdxl => Directory.Exists(Path.Combine(Model, "text_encoder_2"));

    /// <summary>The saved workflow the engine runs: txt2img or img2img, or their SDXL versions (sdxl-txt2img, sdxl-img2img).</summary>
    public string Workflow => IsSdxl ? "sdxl-" + Mode : Mode;

    /// <summary>The model files a run loads, whose sizes make <c>weights_bytes</c>: img2img adds the VAE encoder, SDXL the second text encoder.</summary>
    public string[] Components =>
        [.. (string[])["text_encoder", "unet", "vae_decoder"], .. IsImg2Img ? ["vae_encoder"] : Array.Empty<string>(), .. IsSdxl ? ["text_encoder_2"] : Array.Empty<string>()];

    /// <summary>The VAE's latent scaling factor, from the folder's VAE config (SD 1.x 0.18215, SDXL 0.13025 when it says none).</summary>
    public float VaeScalingFactor() => Diffusion.Onnx.ModelFolder.Open(Model).VaeScalingFactor;

    /// <summary>The steps a run executes: all of them for txt2img, round(steps × strength) for img2img.</summary>
    public int StepsRun => Steps - StartIndex;

    /// <summary>The schedule index img2img starts at (0 for txt2img).</summary>
    public int StartIndex => IsImg2Img ? Diffusion.Schedulers.DenoisingStrength.StartIndex(Steps, Strength) : 0;

    /// <summary>Bytes of the loaded components' model and external-data files.</summary>
    public long WeightsBytes() => Components
        .Select(c => Path.Combine(Model, c))
        .Where(Directory.Exists)
        .SelectMany(d => Directory.EnumerateFiles(d).Where(f => !f.EndsWith(".json", StringComparison.Ordinal)))
        .Sum(f => new FileInfo(f).Length);
}
