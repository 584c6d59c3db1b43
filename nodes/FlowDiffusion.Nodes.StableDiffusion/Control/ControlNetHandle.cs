using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Control;

/// <summary>
/// A loaded ControlNet graph, as the SDK's handle, with a union ControlNet's control type (<see cref="ControlType"/>:
/// null for "auto", as loaded; <c>controlnet.union_type</c> makes a handle with one).
/// </summary>
internal sealed class ControlNetHandle(string name, ControlNetModel model, int? controlType = null) : IControlNet
{
    public string Name => name;

    public ControlNetModel Model => model;

    /// <summary>The union ControlNet's control type (a row of its task embedding), or null for "auto".</summary>
    public int? ControlType => controlType;

    /// <summary>The same ControlNet with control type <paramref name="type"/> (null: "auto").</summary>
    public ControlNetHandle WithControlType(int? type) => new(name, model, type);

    public override string ToString() => name;
}
