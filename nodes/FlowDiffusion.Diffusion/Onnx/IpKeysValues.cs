namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// One image prompt's decoupled cross-attention inputs: for each layer, keys and values [tokens, channels] (row-major).
/// Immutable once made.
/// </summary>
/// <param name="Tokens">The image tokens (the adapter's tokens × the number of images).</param>
/// <param name="Channels">Each layer's width.</param>
/// <param name="Keys">Each layer's keys.</param>
/// <param name="Values">Each layer's values.</param>
public sealed record IpKeysValues(int Tokens, IReadOnlyList<int> Channels, IReadOnlyList<float[]> Keys, IReadOnlyList<float[]> Values)
{
    /// <summary>The number of layers.</summary>
    public int Layers => Channels.Count;
}
