using System.Globalization;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// ComfyUI's ModelMergeBlocks rule over named prefixes of the UNet's LDM keys (those under <c>diffusion_model.</c>, e.g.
/// <c>input_blocks.4.1.proj_in.weight</c>): a key takes the ratio of the longest prefix it starts with, and a key no
/// prefix matches takes the first pair's ratio. ModelMergeSD1/SD2/SDXL name one prefix per block (<c>time_embed.</c>,
/// <c>input_blocks.0.</c> …); ModelMergeBlocks' <c>input</c>, <c>middle</c> and <c>out</c> are prefixes too.
/// </summary>
internal sealed class UNetBlockRatios
{
    private readonly (string Prefix, double Ratio)[] pairs;

    private UNetBlockRatios((string Prefix, double Ratio)[] pairs) => this.pairs = pairs;

    /// <summary>
    /// Reads "prefix=ratio" pairs separated by commas or line breaks (the first pair's ratio is the default); errors
    /// name <paramref name="parameter"/> and the pair.
    /// </summary>
    /// <exception cref="ArgumentException">No pair, a pair without '=', a ratio that is no number in 0 … 1, or a prefix given twice.</exception>
    public static UNetBlockRatios Parse(string text, string parameter)
    {
        var pairs = new List<(string Prefix, double Ratio)>();
        foreach (var entry in text.Split([',', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = entry.LastIndexOf('=');
            if (equals < 0) throw new ArgumentException($"{parameter}: '{entry}' is no prefix=ratio pair (e.g. input_blocks.4.=0.5)");
            var prefix = entry[..equals].Trim();
            if (!double.TryParse(entry[(equals + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var ratio))
                throw new ArgumentException($"{parameter}: the ratio of '{prefix}' is no number: '{entry[(equals + 1)..].Trim()}'");
            MergeStrengths.CheckRatio($"{parameter} '{prefix}'", ratio);
            if (pairs.Any(p => p.Prefix == prefix)) throw new ArgumentException($"{parameter}: prefix '{prefix}' is given twice");
            pairs.Add((prefix, ratio));
        }

        if (pairs.Count == 0) throw new ArgumentException($"{parameter}: give at least one prefix=ratio pair (e.g. input_blocks.4.=0.5)");
        return new([.. pairs]);
    }

    /// <summary>The ratio of LDM key <paramref name="key"/> (without <c>diffusion_model.</c>): the longest matching prefix's, else the first pair's.</summary>
    public double Of(string key)
    {
        var (ratio, length) = (pairs[0].Ratio, 0);
        foreach (var (prefix, value) in pairs)
            if (prefix.Length > length && key.StartsWith(prefix, StringComparison.Ordinal))
                (ratio, length) = (value, prefix.Length);
        return ratio;
    }
}
