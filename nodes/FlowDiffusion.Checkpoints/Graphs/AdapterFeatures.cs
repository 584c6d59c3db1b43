using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The T2I-Adapter features the controlled UNet takes (diffusers' <c>down_intrablock_additional_residuals</c>), by the
/// names the graph declares: <c>down_intrablock_0</c> … one per encoder level, then one for the middle block. A level
/// with attention adds its feature after its last residual block and transformer, so into that skip and the downsampler's
/// input; a level without attention adds it after the whole level, its downsampler's output when it has one (SDXL's
/// first), which is also that skip. The last input is added after the middle block (SDXL adapters' fourth feature). A
/// feature input is optional: its default, zeros of shape [1, C, 1, 1], broadcasts, so a caller without an adapter leaves them out.
/// </summary>
public static class AdapterFeatures
{
    /// <summary>The name of the feature input at encoder level <paramref name="level"/> (the level count names the middle block's).</summary>
    public static string Name(int level) => $"down_intrablock_{level}";

    /// <summary>The channels of each feature input, the middle block's last.</summary>
    public static IReadOnlyList<int> Channels(UNetArchitecture arch) => [.. arch.LevelChannels, arch.LevelChannels[^1]];

    /// <summary>Every feature input's name, the middle block's last.</summary>
    public static IReadOnlyList<string> Names(UNetArchitecture arch) => [.. Enumerable.Range(0, arch.LevelChannels.Count + 1).Select(Name)];

    /// <summary>Declares the (optional) feature input for <paramref name="level"/> and adds it to <paramref name="hidden"/>.</summary>
    internal static string Add(GraphBuilder g, UNetArchitecture arch, int level, string hidden)
    {
        var channels = Channels(arch)[level];
        var zeros = OnnxTensor.FromFloats(Name(level), new float[channels], 1, channels, 1, 1);
        return g.Add(hidden, g.OptionalInput(zeros, TensorElementType.Float, "batch", channels, $"{Name(level)}_height", $"{Name(level)}_width"));
    }
}
