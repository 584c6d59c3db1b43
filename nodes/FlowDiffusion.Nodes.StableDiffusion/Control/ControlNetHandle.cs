using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Control;

/// <summary>A loaded ControlNet graph, as the SDK's handle.</summary>
internal sealed class ControlNetHandle(string name, ControlNetModel model) : IControlNet
{
    public string Name => name;

    public ControlNetModel Model => model;

    public override string ToString() => name;
}
