namespace FlowDiffusion.Checkpoints.Architecture;

/// <summary>
/// Names an SDXL-family UNet's layout as ComfyUI's supported models tell them apart (SDXL, SSD1B, Segmind_Vega,
/// KOALA_700M, KOALA_1B): by the transformer depth after each encoder residual block (<c>transformer_depth</c>) at SDXL's
/// widths (320 model channels, a 2048-wide context, a 2816-wide added embedding). All of them run as SDXL: the same
/// text towers, VAE and schedule.
/// </summary>
public static class SdxlVariant
{
    private static readonly (string Name, int[] Depths)[] Known =
    [
        ("SDXL", [0, 0, 2, 2, 10, 10]),
        ("SSD-1B", [0, 0, 2, 2, 4, 4]),
        ("Segmind Vega", [0, 0, 1, 1, 2, 2]),
        ("KOALA-700M", [0, 2, 5]),
        ("KOALA-1B", [0, 2, 6]),
    ];

    /// <summary>The transformer depth after each encoder residual block, level by level (ComfyUI's <c>transformer_depth</c>).</summary>
    public static IReadOnlyList<int> EncoderDepths(UNetArchitecture unet)
    {
        ArgumentNullException.ThrowIfNull(unet);
        return [.. Enumerable.Range(0, unet.LevelChannels.Count).SelectMany(l => Enumerable.Range(0, unet.ResBlocksPerLevel).Select(j => unet.DownDepth(l, j)))];
    }

    /// <summary>The transformer depth after each decoder residual block, deepest level first (the output blocks' order).</summary>
    public static IReadOnlyList<int> DecoderDepths(UNetArchitecture unet)
    {
        ArgumentNullException.ThrowIfNull(unet);
        return [.. Enumerable.Range(0, unet.LevelChannels.Count).SelectMany(u => Enumerable.Range(0, unet.ResBlocksPerLevel + 1).Select(j => unet.UpDepth(u, j)))];
    }

    /// <summary>The layout's name (<c>SDXL</c>, <c>SSD-1B</c>, <c>Segmind Vega</c>, <c>KOALA-700M</c>, <c>KOALA-1B</c>), or null for another shape.</summary>
    public static string? Name(UNetArchitecture unet)
    {
        ArgumentNullException.ThrowIfNull(unet);
        if (unet.ModelChannels != 320 || unet.ContextWidth != 2048 || unet.AddedEmbeddingWidth != 2816)
        {
            return null;
        }

        var depths = EncoderDepths(unet);
        return Known.FirstOrDefault(k => k.Depths.SequenceEqual(depths)).Name;
    }

    /// <summary>
    /// Whether the UNet departs from SDXL 1.0's block layout: a known distilled layout, per-attention depths that are not
    /// per level, or a middle block without attention.
    /// </summary>
    public static bool IsDistilled(UNetArchitecture unet)
    {
        ArgumentNullException.ThrowIfNull(unet);
        return unet.EncoderDepths is not null || unet.DecoderDepths is not null || unet.Middle != UNetMiddle.Attention || Name(unet) is { } name && name != "SDXL";
    }

    /// <summary>
    /// One line on the UNet's attention layout: the encoder's depths, the decoder's where they are not the encoder's
    /// mirrored, the middle block where it is not SDXL's, and the layout's name where it is a known one; e.g.
    /// "SSD-1B layout: transformer depths 0/0/2/2/4/4, decoder 4/4/4/2/2/2/0/0/0, middle one residual block".
    /// </summary>
    public static string Describe(UNetArchitecture unet)
    {
        ArgumentNullException.ThrowIfNull(unet);
        var parts = new List<string> { $"transformer depths {string.Join("/", EncoderDepths(unet))}" };
        if (unet.DecoderDepths is not null || unet.EncoderDepths is not null)
        {
            parts.Add($"decoder {string.Join("/", DecoderDepths(unet))}");
        }

        parts.Add(unet.Middle switch
        {
            UNetMiddle.Attention => $"middle {unet.MiddleTransformerDepth}",
            UNetMiddle.ResBlock => "middle one residual block",
            _ => "no middle block",
        });
        return (Name(unet) is { } name ? name + " layout: " : "") + string.Join(", ", parts);
    }
}
