using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// One axis of a [batch, channels, height, width] latent named as ComfyUI's LatentConcat and LatentCut name it: x the
/// width, y the height, t the axis before them (on an image latent, the channels), seen as blocks of
/// <see cref="Length"/> × <see cref="Inner"/> values repeated <see cref="Outer"/> times.
/// </summary>
internal readonly record struct LatentAxis(int Axis, int Outer, int Length, int Inner)
{
    /// <summary>The dimension names, ComfyUI's.</summary>
    public static readonly string[] Names = ["x", "y", "t"];

    /// <summary>The axis <paramref name="name"/> (x, y or t, any leading minus ignored) of <paramref name="latent"/>.</summary>
    public static LatentAxis Of(Latent latent, string name)
    {
        int[] shape = [latent.Batch, latent.Channels, latent.Height, latent.Width];
        var axis = name.TrimStart('-') switch
        {
            "x" => 3,
            "y" => 2,
            "t" => 1,
            _ => throw new ArgumentException($"dim '{name}' is not one of x, y, t (a leading minus reverses the order)"),
        };
        int outer = 1, inner = 1;
        for (var d = 0; d < axis; d++) outer *= shape[d];
        for (var d = axis + 1; d < 4; d++) inner *= shape[d];
        return new LatentAxis(axis, outer, shape[axis], inner);
    }

    /// <summary>The shape [batch, channels, height, width] with this axis's length replaced by <paramref name="length"/>.</summary>
    public int[] Shape(Latent latent, int length)
    {
        int[] shape = [latent.Batch, latent.Channels, latent.Height, latent.Width];
        shape[Axis] = length;
        return shape;
    }
}
