using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Regions;

/// <summary>
/// Where a conditioning acts, ComfyUI's area and mask keys: a rectangle (in pixels, or in fractions of the image), a mask
/// with its strength and whether the model runs on the mask's bounding box only, and the conditioning's strength. The
/// guider resolves it at latent resolution (<see cref="ResolvedRegion"/>) and weighs each conditioning's prediction by it.
/// </summary>
/// <param name="Area">The rectangle, or null for the whole latent.</param>
/// <param name="Mask">The mask ([1 or batch, 1, H, W], resized bilinearly to the latent), or null.</param>
/// <param name="MaskStrength">The mask's factor (ConditioningSetMask's strength).</param>
/// <param name="MaskBounds">Whether the model runs on the mask's bounding box only (ComfyUI's "mask bounds").</param>
/// <param name="Strength">The weight of the conditioning's prediction (ConditioningSetArea's strength).</param>
internal sealed record ConditioningRegion(RegionArea? Area, Mask? Mask, float MaskStrength, bool MaskBounds, float Strength)
{
    /// <summary>The extra's key. A region is expanded by the guider; batching one as a plain extra is an error.</summary>
    public static readonly ExtraKey<ConditioningRegion> Key = new("conditioning.region", _ =>
        throw new ArgumentException("a conditioning restricted to an area or mask (conditioning.set_area/set_mask) must be expanded by its guider (guidance.cfg); this guider batches it as one conditioning"));

    /// <summary>No restriction, strength 1.</summary>
    public static ConditioningRegion None { get; } = new(null, null, 1f, false, 1f);

    /// <summary>The region of <paramref name="conditioning"/>, or null when it has none.</summary>
    public static ConditioningRegion? Of(Conditioning conditioning) =>
        conditioning.Extras.TryGet(Key, out var region) ? region : null;

    /// <summary><paramref name="conditioning"/> without its region.</summary>
    public static Conditioning Strip(Conditioning conditioning) =>
        conditioning.Extras.Contains(Key) ? conditioning.WithExtras(conditioning.Extras.Without(Key)) : conditioning;
}

/// <summary>
/// A rectangle: in pixels (ComfyUI's ConditioningSetArea, floored to whole latent pixels) or in fractions of the image
/// (ConditioningSetAreaPercentage, rounded at the latent's size).
/// </summary>
internal sealed record RegionArea(double X, double Y, double Width, double Height, bool Fractions)
{
    /// <summary>(y, x, h, w) at a latent of <paramref name="height"/> × <paramref name="width"/>, before clipping.</summary>
    public (int Y, int X, int H, int W) InLatent(int height, int width) => Fractions
        ? ((int)Math.Round(Y * height, MidpointRounding.ToEven), (int)Math.Round(X * width, MidpointRounding.ToEven),
            Math.Max(1, (int)Math.Round(Height * height, MidpointRounding.ToEven)), Math.Max(1, (int)Math.Round(Width * width, MidpointRounding.ToEven)))
        : ((int)Y / 8, (int)X / 8, (int)Height / 8, (int)Width / 8);
}
