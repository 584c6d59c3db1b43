using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// ComfyUI's attention multipliers (UNetSelfAttentionMultiply, UNetCrossAttentionMultiply, CLIPAttentionMultiply): every
/// weight and bias whose name ends in an attention projection's (e.g. <c>attn1.to_q</c>, <c>self_attn.out_proj</c>) is
/// multiplied by that projection's factor, in float32 and stored in the weight's type, as ComfyUI's patches compute it.
/// </summary>
internal static class AttentionScaling
{
    /// <summary>The range of each factor, ComfyUI's.</summary>
    public const double MaxFactor = 10;

    /// <summary>
    /// One <see cref="WeightMerge.Scale"/> per weight of <paramref name="weights"/> named <c>…{projection}.weight</c> or
    /// <c>…{projection}.bias</c>; a factor of 1 changes nothing and gets none.
    /// </summary>
    public static List<WeightOverride> Overrides(IReadOnlyList<WeightInfo> weights, IReadOnlyList<(string Projection, double Factor)> projections)
    {
        var overrides = new List<WeightOverride>();
        foreach (var weight in weights)
            foreach (var (projection, factor) in projections)
                if (factor != 1 && (weight.Name.EndsWith(projection + ".weight", StringComparison.Ordinal) || weight.Name.EndsWith(projection + ".bias", StringComparison.Ordinal)))
                    overrides.Add(WeightMerge.Scale(weight.Name, (float)factor));
        return overrides;
    }

    /// <summary>Checks the four factors, naming the first outside 0 … <see cref="MaxFactor"/>.</summary>
    public static void Check(double q, double k, double v, double @out)
    {
        foreach (var (name, value) in new[] { ("q", q), ("k", k), ("v", v), ("out", @out) })
            if (!(value is >= 0 and <= MaxFactor)) throw new ArgumentException($"{name} must be 0 … {MaxFactor}; got {value}");
    }
}
