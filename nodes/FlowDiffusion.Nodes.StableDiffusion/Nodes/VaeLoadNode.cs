using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Checkpoints.Taesd;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Loads a VAE on its own, to use in place of a model's (a "VAE swap").</summary>
[Node("vae.load", "1.2.0", Category = "loaders", Title = "Load VAE",
    Description = "Opens a VAE on its own — a .safetensors VAE (LDM keys as in vae-ft-mse-840000-ema-pruned, or diffusers keys; converted once, then cached on disk), "
        + "a diffusers VAE folder, a diffusers-ONNX folder's VAE halves, or the tiny autoencoder TAESD (taesd_decoder.pth / taesdxl_decoder.pth with its "
        + "_encoder file beside it: a fast, approximate decode) — to use in place of the model's VAE (a VAE swap).")]
public sealed class VaeLoadNode : INode
{
    /// <summary>The VAE.</summary>
    [Parameter(Description = "The VAE: a .safetensors file (e.g. models/vae/vae-ft-mse-840000-ema-pruned.safetensors), a diffusers VAE folder, a folder with vae_decoder/model.onnx, "
        + "or a TAESD decoder (models/vae_approx/taesd_decoder.pth; taesdxl_decoder for SDXL; encodes need the _encoder file beside it); relative to the working folder.",
        Kind = ParameterKind.ModelFolder, Required = true)]
    public string Path { get; set; } = "";

    /// <summary>The latent scaling factor, or 0 for the VAE's own.</summary>
    [Parameter(Description = "The latent scaling factor of the model family the VAE serves: 0 reads it from the VAE's config.json (0.18215, SD 1.x's, when none says); "
        + "set 0.13025 for an SDXL VAE file such as sdxl_vae or the fp16-fix VAE, whose weights cannot tell. model.load's vae_path takes the model's own.", Min = 0, Max = 10, Step = 0.00001)]
    public double ScalingFactor { get; set; }

    /// <summary>The ONNX Runtime execution provider.</summary>
    [Parameter(Description = "ONNX Runtime execution provider.", Choices = ["cpu", "cuda", "directml", "tensorrt", "coreml"])]
    public string Provider { get; set; } = "cpu";

    /// <summary>Options for the execution provider.</summary>
    [Parameter(Description = "Execution provider options as key=value pairs separated by ';', as model.load takes them. Empty for the defaults.")]
    public string ProviderOptions { get; set; } = "";

    /// <summary>The VAE.</summary>
    [Output(Description = "The VAE (encoder and decoder).")]
    public IVae? Vae { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var options = ProviderParameters.Parse(Provider, ProviderOptions);

        var path = PathResolver.Resolve(context, Path);
        // A replaced VAE file is converted again and seen by the next run, not served from the cache.
        context.DependsOn(path);
        Vae = Open(context, path, options, cancellationToken, ScalingFactor > 0 ? (float)ScalingFactor : null);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Opens the VAE at <paramref name="path"/> (already resolved), converting a .safetensors VAE on its first load;
    /// <paramref name="scalingFactor"/>, when given, replaces the one its files say.
    /// </summary>
    internal static OnnxVae Open(INodeContext context, string path, OnnxSessionOptions options, CancellationToken cancellationToken, float? scalingFactor = null)
    {
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            throw new FileNotFoundException($"path: VAE '{path}' not found.", path);
        }

        if (File.Exists(path) && TaesdFiles.IsTaesdFile(path))
        {
            return OpenTaesd(context, path, options, cancellationToken, scalingFactor);
        }

        var folder = CheckpointCache.IsVaeCheckpoint(path)
            ? CheckpointCache.PrepareVae(path, CheckpointCache.DefaultRoot, () =>
                context.ReportProgress(new NodeProgress(0, $"converting {System.IO.Path.GetFileName(path)} to ONNX (first load only)")), Conversions.Limits(context, cancellationToken))
            : path;
        var files = VaeFiles.OfFolder(folder);
        return ModelLibrary.Of(context).OpenVae(scalingFactor is { } factor ? files with { ScalingFactor = factor } : files, options);
    }

    /// <summary>
    /// Opens TAESD from one of its halves (already resolved), the other found beside it by name; the scaling factor is
    /// the family's the name says (<c>taesdxl</c>: SDXL's) unless <paramref name="scalingFactor"/> is given. Without the
    /// encoder file the VAE decodes only.
    /// </summary>
    internal static OnnxVae OpenTaesd(INodeContext context, string path, OnnxSessionOptions options, CancellationToken cancellationToken, float? scalingFactor = null)
    {
        var factor = TaesdFiles.ScalingFactorOf(path);
        factor = scalingFactor ?? factor;
        var decoder = TaesdFiles.PartOf(path) == TaesdPart.Decoder ? path : TaesdFiles.Beside(path, TaesdPart.Decoder)
            ?? throw new FileNotFoundException($"path: TAESD '{path}' has no decoder beside it ({System.IO.Path.GetFileName(path).Replace("_encoder", "_decoder", StringComparison.OrdinalIgnoreCase)}, .pth or .safetensors).", path);
        var encoder = TaesdFiles.Beside(decoder, TaesdPart.Encoder);
        context.DependsOn(decoder);
        if (encoder is not null) context.DependsOn(encoder);
        var limits = Conversions.Limits(context, cancellationToken);
        var converting = () => context.ReportProgress(new NodeProgress(0, $"converting {System.IO.Path.GetFileName(decoder)} to ONNX (first load only)"));
        var decoderModel = TaesdModelCache.Prepare(decoder, TaesdPart.Decoder, factor, TaesdModelCache.DefaultRoot, converting, limits);
        var encoderModel = encoder is null ? null : TaesdModelCache.Prepare(encoder, TaesdPart.Encoder, factor, TaesdModelCache.DefaultRoot, converting, limits);
        var files = new VaeFiles(decoder, decoderModel, encoderModel, factor)
        {
            MissingEncoder = $"The TAESD '{decoder}' has no encoder file beside it ({System.IO.Path.GetFileName(decoder).Replace("_decoder", "_encoder", StringComparison.OrdinalIgnoreCase)}), which encoding (img2img, inpainting) needs.",
        };
        return ModelLibrary.Of(context).OpenVae(files, options);
    }
}
