namespace FlowDiffusion.Checkpoints.Weights;

/// <summary>One weight of our graphs in an LDM single file: its part and canonical name, its key there and the shape stored under it.</summary>
/// <param name="Part">The network.</param>
/// <param name="Name">The canonical (diffusers) name, our graph's initializer.</param>
/// <param name="Key">The key in the single file (<c>model.diffusion_model.input_blocks.0.0.weight</c>, …).</param>
/// <param name="Shape">The shape stored under the key, which can differ from the graph's (the VAE attention's 1×1 convolutions, OpenCLIP's fused <c>in_proj</c>).</param>
public sealed record LdmPlacement(ModelPart Part, string Name, string Key, long[] Shape)
{
    /// <summary>
    /// The rows of the stored tensor's first axis the weight fills (q, k or v of OpenCLIP's fused <c>in_proj</c>, which
    /// several placements share), or null when it is the whole tensor.
    /// </summary>
    public (long Start, long Count)? Rows { get; init; }

    /// <summary>Whether the stored tensor is the weight's 2-D matrix transposed (OpenCLIP's <c>text_projection</c>).</summary>
    public bool Transposed { get; init; }
}
