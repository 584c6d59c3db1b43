using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Control;

/// <summary>
/// A loaded ControlNet graph, as the SDK's handle, with a union ControlNet's control type (<see cref="ControlType"/>:
/// null for "auto", as loaded; <c>controlnet.union_type</c> makes a handle with one) and whether its residuals are
/// pooled globally (<see cref="GlobalAveragePooling"/>: a ControlNet 1.1 shuffle model).
/// </summary>
internal sealed class ControlNetHandle(string name, ControlNetModel model, bool globalAveragePooling = false, int? controlType = null) : IControlNet
{
    public string Name => name;

    public ControlNetModel Model => model;

    /// <summary>The union ControlNet's control type (a row of its task embedding), or null for "auto".</summary>
    public int? ControlType => controlType;

    /// <summary>
    /// Whether each residual is averaged over its height and width before the strength: ComfyUI does it for a file named
    /// <c>*_shuffle</c> or <c>*_shuffle_fp16</c> (ControlNet 1.1's <c>control_v11e_sd15_shuffle</c>), and so does this.
    /// </summary>
    public bool GlobalAveragePooling => globalAveragePooling;

    /// <summary>The same ControlNet with control type <paramref name="type"/> (null: "auto").</summary>
    public ControlNetHandle WithControlType(int? type) => new(name, model, globalAveragePooling, type);

    public override string ToString() => name;
}
