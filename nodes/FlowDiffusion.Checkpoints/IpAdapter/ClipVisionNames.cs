namespace FlowDiffusion.Checkpoints.IpAdapter;

/// <summary>The canonical tensor names of a CLIP image tower: transformers' <c>CLIPVisionModelWithProjection</c>.</summary>
public static class ClipVisionNames
{
    /// <summary>The prefix of the tower's tensors.</summary>
    public const string Prefix = "vision_model.";

    /// <summary>The class token's embedding [width].</summary>
    public const string ClassEmbedding = Prefix + "embeddings.class_embedding";

    /// <summary>The patch convolution [width, 3, patch, patch], without bias.</summary>
    public const string PatchEmbedding = Prefix + "embeddings.patch_embedding.weight";

    /// <summary>The learned positions [tokens, width].</summary>
    public const string PositionEmbedding = Prefix + "embeddings.position_embedding.weight";

    /// <summary>The layer norm before the encoder (transformers spells it <c>pre_layrnorm</c>).</summary>
    public const string PreNorm = Prefix + "pre_layrnorm";

    /// <summary>The encoder layers' prefix (<c>{i}.self_attn</c>, <c>{i}.mlp</c>, <c>{i}.layer_norm1/2</c>).</summary>
    public const string Layers = Prefix + "encoder.layers.";

    /// <summary>The layer norm on the class token after the encoder.</summary>
    public const string PostNorm = Prefix + "post_layernorm";

    /// <summary>The bias-free projection to the image embedding [projection, width].</summary>
    public const string Projection = "visual_projection.weight";
}
