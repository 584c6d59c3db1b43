using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Adapter;

/// <summary>A loaded CLIP image encoder graph, as the SDK's handle.</summary>
internal sealed class ClipVisionHandle(string name, ClipVisionModel model) : IClipVision
{
    public string Name => name;

    public ClipVisionModel Model => model;

    public override string ToString() => name;
}
