namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>The parts of a UNet ComfyUI's ModelMergeBlocks gives ratios to.</summary>
internal enum UNetBlock
{
    /// <summary>The input side (ComfyUI's input_blocks) and whatever no other part claims (time and class embeddings).</summary>
    Input,

    /// <summary>The middle block.</summary>
    Middle,

    /// <summary>The output side: the up blocks (output_blocks) and the output norm and convolution (out).</summary>
    Out,
}

/// <summary>Which part of the UNet a weight belongs to, by its name.</summary>
internal static class UNetBlocks
{
    /// <summary>
    /// The part of weight <paramref name="name"/>. ComfyUI matches its LDM keys' prefixes input, middle and out (the
    /// longest wins, input's ratio where none matches); our graphs name weights as diffusers does (down_blocks, mid_block,
    /// up_blocks, conv_norm_out, conv_out; the test models down, mid, up), which map onto those parts.
    /// </summary>
    public static UNetBlock Of(string name)
    {
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        return (dot < 0 ? name : name[..dot]) switch
        {
            "mid_block" or "mid" => UNetBlock.Middle,
            "up_blocks" or "up" or "conv_norm_out" or "conv_out" => UNetBlock.Out,
            _ => UNetBlock.Input,
        };
    }
}
