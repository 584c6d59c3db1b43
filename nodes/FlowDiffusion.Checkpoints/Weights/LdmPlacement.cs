namespace FlowDiffusion.Checkpoints.Weights;

/// <summary>One weight of our graphs in an LDM single file: its part and canonical name, its key there and the shape stored under it.</summary>
/// <param name="Part">The network.</param>
/// <param name="Name">The canonical (diffusers) name, our graph's initializer.</param>
/// <param name="Key">The key in the single file (<c>model.diffusion_model.input_blocks.0.0.weight</c>, …).</param>
/// <param name="Shape">The shape stored under the key, which can differ from the graph's (the VAE attention's 1×1 convolutions).</param>
public sealed record LdmPlacement(ModelPart Part, string Name, string Key, long[] Shape);
