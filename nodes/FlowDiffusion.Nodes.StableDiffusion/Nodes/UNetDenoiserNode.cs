using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Turns a loaded UNet into the denoiser strategy guiders call.</summary>
[Node("unet.denoiser", "1.0.0", Category = "sampling", Title = "UNet Denoiser",
    Description = "The UNet as a denoiser: one batched model evaluation per call. Adapters (LoRA, ControlNet) would wrap it here.")]
public sealed class UNetDenoiserNode : INode
{
    /// <summary>The UNet.</summary>
    [Input(Description = "The loaded UNet.")]
    public IUNetModel? Unet { get; set; }

    /// <summary>The denoiser.</summary>
    [Output(Description = "The denoiser.")]
    public IDenoiser? Denoiser { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Denoiser = Unet;
        return Task.CompletedTask;
    }
}
