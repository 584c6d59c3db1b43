using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// Brings a second latent to the shape of a first, as ComfyUI's latent arithmetic does before it combines them: resized
/// (bilinear, centre-cropped to the first's aspect) when its height or width differs, then its batch cut to the first's
/// or repeated item by item (0, 1, …, 0, 1, …) up to it.
/// </summary>
internal static class LatentMatch
{
    /// <summary>The values of <paramref name="other"/> at the shape of <paramref name="target"/>.</summary>
    /// <exception cref="ArgumentException">The channel counts differ; names both inputs.</exception>
    public static float[] To(Latent target, Latent other, string targetName, string otherName)
    {
        if (other.Channels != target.Channels)
            throw new ArgumentException($"{otherName} has {other.Channels} channels but {targetName} {target.Channels}; latents of one model combine");
        ReadOnlySpan<float> resized = other.Height == target.Height && other.Width == target.Width
            ? other.Values
            : PlanarResize.Resize(other.Values, other.Batch * other.Channels, other.Height, other.Width, target.Height, target.Width, "bilinear", centerCrop: true);
        var item = target.ItemLength;
        var values = new float[target.Batch * item];
        for (var b = 0; b < target.Batch; b++) resized.Slice(b % other.Batch * item, item).CopyTo(values.AsSpan(b * item));
        return values;
    }
}
