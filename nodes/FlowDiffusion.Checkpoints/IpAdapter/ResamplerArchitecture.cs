using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Weights;

namespace FlowDiffusion.Checkpoints.IpAdapter;

/// <summary>
/// The perceiver resampler of IP-Adapter Plus (and plus-face): <c>image_proj.latents</c> [1, queries, width] (learned,
/// used as stored), <c>proj_in</c>, <see cref="Depth"/> layers of attention (<c>layers.i.0</c>: norm1, norm2, to_q,
/// to_kv, to_out; heads of <see cref="HeadWidth"/>) and feed-forward (<c>layers.i.1</c>: .0 LayerNorm, .1 Linear, exact
/// GELU, .3 Linear), <c>proj_out</c> and <c>norm_out</c>. SD 1.5's: 768 wide, 12 heads, 4 layers, 16 queries; SDXL's
/// plus: 1280 wide, 20 heads, out 2048.
/// </summary>
public sealed record ResamplerArchitecture(int Width, int Depth, int Heads, int FeedForwardWidth)
{
    /// <summary>The heads' width (<c>dim_head</c>: 64 in every released Plus adapter; no tensor records it).</summary>
    public const int HeadWidth = 64;

    /// <summary>The projection's tensors' prefix.</summary>
    public const string Prefix = "image_proj.";

    /// <summary>Reads the resampler from <c>image_proj.*</c>, checking that the shapes fit one another; null when <paramref name="tensors"/> has no <c>image_proj.latents</c>.</summary>
    public static (ResamplerArchitecture Architecture, int InputWidth, int Queries, int OutputWidth)? Detect(IReadOnlyDictionary<string, StoredTensor> tensors, string source)
    {
        if (!tensors.TryGetValue(Prefix + "latents", out var latents))
        {
            return null;
        }

        long[] Shape(string name) => tensors.TryGetValue(Prefix + name, out var t) ? t.Shape
            : throw new CheckpointException($"{source}: an IP-Adapter Plus (image_proj.latents) without '{Prefix}{name}'; the file is incomplete.");
        var depth = Shapes.CountIndices(tensors.Keys, Prefix + "layers.");
        var projIn = Shape("proj_in.weight");
        var projOut = Shape("proj_out.weight");
        if (latents.Shape is not [1, var queries, var width] || projIn is not [var inWidth, var input] || inWidth != width
            || projOut is not [var output, var outIn] || outIn != width || depth == 0)
        {
            throw new CheckpointException($"{source}: the Resampler's latents [{string.Join(", ", latents.Shape)}], proj_in [{string.Join(", ", projIn)}], proj_out [{string.Join(", ", projOut)}] and {depth} layers do not fit together.");
        }

        var inner = Shape("layers.0.0.to_q.weight")[0];
        var feedForward = Shape("layers.0.1.1.weight")[0];
        if (inner % HeadWidth != 0)
        {
            throw new CheckpointException($"{source}: the Resampler's attention is {inner} wide, not a whole number of {HeadWidth}-wide heads.");
        }

        for (var i = 0; i < depth; i++)
        {
            var layer = $"layers.{i}.";
            if (!Shape(layer + "0.to_q.weight").SequenceEqual([inner, width]) || !Shape(layer + "0.to_kv.weight").SequenceEqual([2 * inner, width])
                || !Shape(layer + "0.to_out.weight").SequenceEqual([width, inner]) || !Shape(layer + "1.1.weight").SequenceEqual([feedForward, width])
                || !Shape(layer + "1.3.weight").SequenceEqual([width, feedForward]))
            {
                throw new CheckpointException($"{source}: the Resampler's layer {i} is not shaped like layer 0 (to_q [{inner}, {width}], to_kv [{2 * inner}, {width}], feed-forward {feedForward}).");
            }
        }

        return (new ResamplerArchitecture((int)width, depth, (int)(inner / HeadWidth), (int)feedForward), (int)input, (int)queries, (int)output);
    }
}
