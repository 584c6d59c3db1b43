namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// One axis of a tiled evaluation: where the overlapping tiles start, and each tile's blend weights at an output scale.
/// Tiles are all <c>tile</c> long (or the whole axis when shorter), spread evenly so neighbours overlap by at least
/// <c>overlap</c>. In an overlap each side's weight is 0 for its outer quarter (where a model sees the tile's cut edge),
/// then ramps linearly to 1 over the middle half (the feathering); the weights are divided by their sum at every output
/// position, so they add up to 1 exactly. Hence a model whose receptive radius is at most overlap/4 input pixels gives
/// tile by tile what it gives in one pass.
/// </summary>
internal sealed class TileAxis
{
    private readonly Dictionary<int, float[][]> _weights = [];

    public TileAxis(int size, int tile, int overlap)
    {
        if (tile < 1) throw new ArgumentException($"the tile size must be positive; got {tile}");
        if (overlap < 0 || overlap >= tile) throw new ArgumentException($"the overlap must be at least 0 and smaller than the tile size {tile}; got {overlap}");
        Size = size;
        Length = Math.Min(tile, size);
        if (size <= tile)
        {
            Starts = [0];
            return;
        }
        var count = (int)Math.Ceiling((double)(size - overlap) / (tile - overlap));
        count = Math.Max(count, 2);
        Starts = [.. Enumerable.Range(0, count).Select(i => (int)Math.Round((double)i * (size - tile) / (count - 1), MidpointRounding.ToEven))];
    }

    /// <summary>The axis length in input units.</summary>
    public int Size { get; }

    /// <summary>Every tile's length in input units.</summary>
    public int Length { get; }

    /// <summary>Where each tile starts, in input units.</summary>
    public IReadOnlyList<int> Starts { get; }

    /// <summary>Tile <paramref name="index"/>'s normalised weights over its <see cref="Length"/> × scale output positions.</summary>
    public float[] Weights(int index, int scale)
    {
        lock (_weights)
        {
            if (!_weights.TryGetValue(scale, out var all)) _weights[scale] = all = Compute(scale);
            return all[index];
        }
    }

    private float[][] Compute(int scale)
    {
        var length = Length * scale;
        var raw = new double[Starts.Count][];
        var sum = new double[Size * scale];
        var count = new int[Size * scale];
        for (var i = 0; i < Starts.Count; i++)
        {
            raw[i] = new double[length];
            var before = i > 0 ? (Starts[i - 1] + Length - Starts[i]) * scale : 0;
            var after = i < Starts.Count - 1 ? (Starts[i] + Length - Starts[i + 1]) * scale : 0;
            for (var p = 0; p < length; p++)
            {
                raw[i][p] = Math.Min(Ramp(p, before), Ramp(length - 1 - p, after));
                sum[Starts[i] * scale + p] += raw[i][p];
                count[Starts[i] * scale + p]++;
            }
        }
        // Where only margins meet (tiles overlapping by more than half their length), the covering tiles share equally.
        return [.. raw.Select((weights, i) => weights.Select((w, p) =>
        {
            var at = Starts[i] * scale + p;
            return (float)(sum[at] > 0 ? w / sum[at] : 1.0 / count[at]);
        }).ToArray())];
    }

    // The weight at distance p from a cut edge whose overlap with the neighbour is `overlap` output positions long.
    private static double Ramp(int p, int overlap)
    {
        if (overlap <= 0) return 1;
        var margin = overlap / 4;
        var ramp = Math.Max(1, overlap - 2 * margin);
        return Math.Clamp((p - margin + 0.5) / ramp, 0, 1);
    }
}
