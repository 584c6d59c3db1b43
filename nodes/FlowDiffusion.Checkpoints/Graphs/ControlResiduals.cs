using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The residuals a ControlNet hands the UNet, by the names both graphs use: <c>down_block_0</c> … <c>down_block_{n-1}</c>,
/// one per skip connection in the order the encoder produces them (the output of <c>conv_in</c>, of each residual block
/// and of each downsampler: 12 for SD 1.x), and <c>mid_block_res_sample</c> for the middle block's output.
/// </summary>
public static class ControlResiduals
{
    /// <summary>The middle block residual's name.</summary>
    public const string Mid = "mid_block_res_sample";

    /// <summary>The name of the residual for skip connection <paramref name="index"/>.</summary>
    public static string Down(int index) => $"down_block_{index}";

    /// <summary>The channels of each skip connection, in encoder order.</summary>
    public static IReadOnlyList<int> SkipChannels(UNetArchitecture arch)
    {
        var channels = new List<int> { arch.ModelChannels };
        for (var level = 0; level < arch.LevelChannels.Count; level++)
        {
            channels.AddRange(Enumerable.Repeat(arch.LevelChannels[level], arch.ResBlocksPerLevel));
            if (level != arch.LevelChannels.Count - 1)
            {
                channels.Add(arch.LevelChannels[level]);
            }
        }

        return channels;
    }

    /// <summary>Every residual's name, the mid one last.</summary>
    public static IReadOnlyList<string> Names(UNetArchitecture arch) =>
        [.. Enumerable.Range(0, SkipChannels(arch).Count).Select(Down), Mid];

    /// <summary>Declares the residual inputs and adds them to the middle block output and to each skip.</summary>
    internal static (string Mid, Stack<string> Skips) AddInputs(GraphBuilder g, UNetArchitecture arch, string mid, Stack<string> skips)
    {
        var channels = SkipChannels(arch);
        var inOrder = skips.Reverse().ToArray();
        var added = new Stack<string>();
        for (var i = 0; i < inOrder.Length; i++)
        {
            added.Push(g.Add(inOrder[i], g.Input(Down(i), TensorElementType.Float, "batch", channels[i], $"down_block_{i}_height", $"down_block_{i}_width")));
        }

        var midInput = g.Input(Mid, TensorElementType.Float, "batch", arch.LevelChannels[^1], "mid_height", "mid_width");
        return (g.Add(mid, midInput), added);
    }
}
