namespace FlowDiffusion.Checkpoints.Architecture;

/// <summary>
/// What a UNet's middle block holds, as ComfyUI's model detection tells it from the keys (<c>transformer_depth_middle</c>
/// n ≥ 0, −1, −2): SD's residual block, spatial transformer, residual block; a lone residual block (SSD-1B's and Segmind
/// Vega's, diffusers' <c>UNetMidBlock2D</c> without attention); or nothing.
/// </summary>
public enum UNetMiddle
{
    /// <summary><c>mid_block.resnets.0</c>, <c>mid_block.attentions.0</c>, <c>mid_block.resnets.1</c> (every SD 1.x, SD 2.x and SDXL 1.0 UNet).</summary>
    Attention,

    /// <summary><c>mid_block.resnets.0</c> alone (LDM <c>middle_block.0</c>).</summary>
    ResBlock,

    /// <summary>No middle block: the encoder's last output goes straight to the decoder.</summary>
    None,
}
