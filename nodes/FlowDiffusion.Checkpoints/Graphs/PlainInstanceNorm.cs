using FlowDiffusion.Onnx;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// torch's <c>nn.InstanceNorm2d</c> as the lineart annotators build it (no affine weights, no running statistics, ε 1e-5):
/// each channel of each image normalised over its spatial axes, with the unit scale and zero shift ONNX asks for shared
/// per channel count.
/// </summary>
internal sealed class PlainInstanceNorm(GraphBuilder g)
{
    private readonly Dictionary<long, (string Ones, string Zeros)> _constants = [];

    /// <summary>The normalised map of <paramref name="x"/>, which has <paramref name="channels"/> channels.</summary>
    public string Apply(string x, long channels)
    {
        if (!_constants.TryGetValue(channels, out var c))
        {
            c = (g.Weight($"instance_norm_ones_{channels}", Enumerable.Repeat(1f, (int)channels).ToArray(), channels),
                g.Weight($"instance_norm_zeros_{channels}", new float[channels], channels));
            _constants[channels] = c;
        }

        return g.InstanceNorm(x, c.Ones, c.Zeros, 1e-5f);
    }
}
