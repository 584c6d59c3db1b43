using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// Brings a second latent to the shape of a first, as ComfyUI's latent nodes do before they combine or batch them: resized
/// (bilinear, or bicubic for LatentBlend; centre-cropped to the first's aspect) when its height or width differs (<see cref="Resized"/>, LatentBatch),
/// then for the arithmetic its batch cut to the first's or repeated item by item (0, 1, …, 0, 1, …) up to it.
/// </summary>
internal static class LatentMatch
{
    /// <summary>The values of <paramref name="other"/> at the shape of <paramref name="target"/>.</summary>
    /// <exception cref="ArgumentException">The channel counts differ; names both inputs.</exception>
    public static float[] To(Latent target, Latent other, string targetName, string otherName, string method = "bilinear")
    {
        var resized = Resized(target, other, targetName, otherName, method);
        var item = target.ItemLength;
        var values = new float[target.Batch * item];
        for (var b = 0; b < target.Batch; b++) resized.Slice(b % other.Batch * item, item).CopyTo(values.AsSpan(b * item));
        return values;
    }

    /// <summary>
    /// All of <paramref name="other"/>'s items at <paramref name="target"/>'s height and width (bilinear, centre-cropped;
    /// as they are when the sizes agree), as ComfyUI's latent nodes bring a second latent to the first's size.
    /// </summary>
    /// <exception cref="ArgumentException">The channel counts differ; names both inputs.</exception>
    public static ReadOnlySpan<float> Resized(Latent target, Latent other, string targetName, string otherName, string method = "bilinear")
    {
        if (other.Channels != target.Channels)
            throw new ArgumentException($"{otherName} has {other.Channels} channels but {targetName} {target.Channels}; latents of one model combine");
        return other.Height == target.Height && other.Width == target.Width
            ? other.Values
            : PlanarResize.Resize(other.Values, other.Batch * other.Channels, other.Height, other.Width, target.Height, target.Width, method, centerCrop: true);
    }
}
