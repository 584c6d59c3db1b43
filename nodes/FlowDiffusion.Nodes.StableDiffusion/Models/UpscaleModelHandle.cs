using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>A loaded upscale network, as the SDK's handle.</summary>
internal sealed class UpscaleModelHandle(string name, UpscaleNetwork network) : IUpscaleModel
{
    public string Name => name;

    public UpscaleNetwork Network => network;

    public override string ToString() => name;
}
