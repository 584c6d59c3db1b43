using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Reads ComfyUI's .latent file.</summary>
[Node("latent.load", "1.0.0", Category = "latent", Title = "Load Latent",
    Description = "Reads a ComfyUI .latent file (latent.save's or ComfyUI's SaveLatent's): latent_tensor × the VAE's scaling factor, and a file without latent_format_version_0 (older ComfyUI) first ÷ 0.18215, as ComfyUI's LoadLatent does. F32, F16, BF16 and F64 tensors of [batch, channels, height, width] are read.")]
public sealed class LatentLoadNode : INode
{
    /// <summary>The file.</summary>
    [Parameter(Description = "The .latent file, relative to the working folder.", Required = true)]
    public string Path { get; set; } = "";

    /// <summary>The VAE whose scaling factor the latents get.</summary>
    [Input(Description = "The VAE the latents are for: the file's values are multiplied by its scaling factor. Without one, scaling_factor is used.", Optional = true)]
    public IVae? Vae { get; set; }

    /// <summary>The scaling factor used without a VAE.</summary>
    [Parameter(Description = "The VAE scaling factor to apply when no vae is connected (SD 1.x: 0.18215, SDXL: 0.13025).", Min = 0.0001, Max = 100)]
    public double ScalingFactor { get; set; } = LatentFiles.LegacyScalingFactor;

    /// <summary>The latents.</summary>
    [Output(Description = "The latents, scaled as the VAE's.")]
    public Latent? Latent { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var scale = Vae?.ScalingFactor ?? ScalingFactor;
        if (!(scale is >= 0.0001 and <= 100)) throw new ArgumentException($"the scaling factor must be 0.0001 … 100; got {scale}");
        var path = PathResolver.Resolve(context, Path);
        // A replaced file is read again by the next run, not served from the cache.
        context.DependsOn(path);
        Latent = LatentFiles.Read(path, "path", Path, scale, context.Limits);
        return Task.CompletedTask;
    }
}
