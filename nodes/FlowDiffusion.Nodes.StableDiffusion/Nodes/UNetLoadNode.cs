using FlowDiffusion.Checkpoints;
using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Loads a UNet-only file (ComfyUI's UNETLoader; what ModelSave writes) as the MODEL, converted once and cached.</summary>
[Node("unet.load", "1.3.0", Category = "loaders", Title = "Load Diffusion Model",
    Description = "Opens an SD 1.x, SD 2.x or SDXL (base or refiner) UNet on its own — a .safetensors file with LDM names under model.diffusion_model. (as ComfyUI's ModelSave and model.save write it), "
        + "the same names bare, or diffusers names — converted once, then cached on disk; pair it with a checkpoint's or model folder's CLIP and VAE.")]
public sealed class UNetLoadNode : INode
{
    /// <summary>The UNet file.</summary>
    [Parameter(Description = "The UNet: a .safetensors file (e.g. models/diffusion_models/ComfyUI_00001_.safetensors), relative to the working folder.", Kind = ParameterKind.ModelFolder, Required = true)]
    public string Path { get; set; } = "";

    /// <summary>What the UNet predicts.</summary>
    [Parameter(Description = "What the UNet predicts. auto: v_prediction when the file carries ComfyUI's v_pred mark (then a ztsnr mark also means a zero-terminal-SNR schedule), "
        + "or, for an SD 2.x UNet, when ComfyUI's weight test calls it a 768-v model (its last transformer's norm1 bias spread above 0.09); else epsilon. "
        + "Nothing in a file tells a v model that fails that test: set v_prediction here (or model.sampling, ComfyUI's ModelSamplingDiscrete).",
        Choices = ["auto", "epsilon", "v_prediction"])]
    public string PredictionType { get; set; } = "auto";

    /// <summary>The weight type (ComfyUI's weight_dtype).</summary>
    [Parameter(Description = "ComfyUI's weight_dtype: default keeps the file's values; fp8_e4m3fn (and fp8_e4m3fn_fast, the same weights) and fp8_e5m2 round every weight "
        + "to that 8-bit float type first, as ComfyUI does, so the image is ComfyUI's. The graphs compute in float32 either way: the rounding changes the numbers, not the memory.",
        Choices = ["default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"])]
    public string WeightDtype { get; set; } = "default";

    /// <summary>The ONNX Runtime execution provider.</summary>
    [Parameter(Description = "ONNX Runtime execution provider.", Choices = ["cpu", "cuda", "directml", "tensorrt", "coreml"])]
    public string Provider { get; set; } = "cpu";

    /// <summary>Options for the execution provider.</summary>
    [Parameter(Description = "Execution provider options as key=value pairs separated by ';', as model.load takes them. Empty for the defaults.")]
    public string ProviderOptions { get; set; } = "";

    /// <summary>The UNet.</summary>
    [Output(Description = "The UNet noise predictor.")]
    public IUNetModel? Unet { get; set; }

    /// <summary>The scheduler configuration.</summary>
    [Output(Description = "The family's training schedule with what the UNet predicts (SD 1.x and SD 2.x: PNDM's configuration; SDXL: Euler's).")]
    public SchedulerConfigSource? SchedulerConfig { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        SafetensorsDType? roundTo = WeightDtype switch
        {
            "default" => null,
            "fp8_e4m3fn" or "fp8_e4m3fn_fast" => SafetensorsDType.Float8E4M3,
            "fp8_e5m2" => SafetensorsDType.Float8E5M2,
            _ => throw new ArgumentException($"weight_dtype: '{WeightDtype}' is not one of default, fp8_e4m3fn, fp8_e4m3fn_fast, fp8_e5m2."),
        };
        var options = ProviderParameters.Parse(Provider, ProviderOptions);

        var path = PathResolver.Resolve(context, Path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"path: UNet file '{Path}' not found{(Directory.Exists(path) ? " (it is a folder; model.load opens model folders)" : "")}.", path);
        }

        if (!WeightFiles.IsWeightFile(path))
        {
            throw new ArgumentException($"path: '{Path}' is not a weight file; UNet files are read from .safetensors or PyTorch checkpoints ({string.Join(", ", WeightFiles.Extensions)}).");
        }

        // A replaced file is converted again (the disk cache is keyed by its size and time), and runs notice.
        context.DependsOn(path);
        var folder = CheckpointCache.PrepareUNet(path, CheckpointCache.DefaultRoot, CheckpointSampling.OfUNet(path, PredictionType), () =>
            context.ReportProgress(new NodeProgress(0, $"converting {System.IO.Path.GetFileName(path)} to ONNX (first load only)")), Conversions.Limits(context, cancellationToken), roundTo);
        var library = ModelLibrary.Of(context);
        var unetPath = System.IO.Path.Combine(folder, "unet", "model.onnx");
        using var unetConfig = System.Text.Json.JsonDocument.Parse(File.ReadAllText(System.IO.Path.Combine(folder, "unet", "config.json")));
        Unet = library.OpenUNet(System.IO.Path.GetFileNameWithoutExtension(path), unetPath, unetConfig.RootElement.GetProperty("sample_size").GetInt32(), options);
        var config = System.IO.Path.Combine(folder, "scheduler", "scheduler_config.json");
        SchedulerConfig = new SchedulerConfigSource(File.ReadAllText(config), config);
        return Task.CompletedTask;
    }
}
