using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Loads a VAE on its own, to use in place of a model's (a "VAE swap").</summary>
[Node("vae.load", "1.1.0", Category = "loaders", Title = "Load VAE",
    Description = "Opens a VAE on its own — a .safetensors VAE (LDM keys as in vae-ft-mse-840000-ema-pruned, or diffusers keys; converted once, then cached on disk), "
        + "a diffusers VAE folder, or a diffusers-ONNX folder's VAE halves — to use in place of the model's VAE (a VAE swap).")]
public sealed class VaeLoadNode : INode
{
    /// <summary>The VAE.</summary>
    [Parameter(Description = "The VAE: a .safetensors file (e.g. models/vae/vae-ft-mse-840000-ema-pruned.safetensors), a diffusers VAE folder, or a folder with vae_decoder/model.onnx; relative to the working folder.",
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

        var folder = CheckpointCache.IsVaeCheckpoint(path)
            ? CheckpointCache.PrepareVae(path, CheckpointCache.DefaultRoot, () =>
                context.ReportProgress(new NodeProgress(0, $"converting {System.IO.Path.GetFileName(path)} to ONNX (first load only)")), Conversions.Limits(context, cancellationToken))
            : path;
        var files = VaeFiles.OfFolder(folder);
        return ModelLibrary.Of(context).OpenVae(scalingFactor is { } factor ? files with { ScalingFactor = factor } : files, options);
    }
}
