namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The optional input groups of a UNet graph variant (<see cref="UNetGraph.Build"/>), beside <c>sample</c>,
/// <c>timestep</c> and <c>encoder_hidden_states</c>. They combine freely; what the architecture needs
/// (SDXL's <c>text_embeds</c> and <c>time_ids</c>, an LCM UNet's <c>timestep_cond</c>) every variant takes.
/// </summary>
[Flags]
public enum UNetExtraInputs
{
    /// <summary>The plain graph.</summary>
    None = 0,

    /// <summary>ControlNet residuals (<see cref="ControlResiduals"/>) added to the skips and the middle block's output.</summary>
    ControlResiduals = 1,

    /// <summary>IP-Adapter keys, values and scales (<see cref="IpAdapterLayers"/>) attended beside the text in every cross-attention.</summary>
    IpAdapter = 2,

    /// <summary>FreeU's factors and version (<see cref="FreeUPatch"/>), applied before the decoder's concatenations.</summary>
    FreeU = 4,

    /// <summary>PAG's row mask (<see cref="PerturbedAttention"/>): the middle block's self-attentions replaced by their values.</summary>
    PerturbedAttention = 8,

    /// <summary>Deep Shrink's block, scale and methods (<see cref="DeepShrinkPatch"/>): the encoder's backbone resized after one block, restored in the decoder.</summary>
    DeepShrink = 16,

    /// <summary>SAG's attention map (<see cref="SelfAttentionMap"/>): the middle block's first self-attention probabilities for the rows asked.</summary>
    SelfAttentionMap = 32,

    /// <summary>HyperTile's tile counts (<see cref="HyperTilePatch"/>): the self-attentions at the token counts it names attend in tiles.</summary>
    HyperTile = 64,

    /// <summary>ToMe's token order and counts (<see cref="TokenMergePatch"/>): the self-attentions at the token count it names attend with merged queries.</summary>
    TokenMerge = 128,
}
