namespace FlowDiffusion.Checkpoints.Synthetic;

/// <summary>
/// The tensors of an SD 1.x checkpoint (diffusers names and shapes) for given widths: UNet (<c>UNet2DConditionModel</c>),
/// CLIP text tower (<c>CLIPTextModel</c>) and VAE (<c>AutoencoderKL</c>). <see cref="Sd15"/> is Stable Diffusion 1.5's.
/// </summary>
/// <param name="UNetChannels">Each UNet level's width (SD 1.5: 320, 640, 1280, 1280).</param>
/// <param name="UNetAttention">Which UNet levels have cross-attention transformers (SD 1.5: all but the last).</param>
/// <param name="ContextWidth">The text encoder's width, which the UNet's cross-attention reads.</param>
/// <param name="TextLayers">The text tower's transformer layers.</param>
/// <param name="Vocabulary">The text tower's token embedding rows.</param>
/// <param name="VaeChannels">Each VAE level's width (SD 1.5: 128, 256, 512, 512).</param>
public sealed record Sd1Layout(
    IReadOnlyList<int> UNetChannels,
    IReadOnlyList<bool> UNetAttention,
    int ContextWidth,
    int TextLayers,
    int Vocabulary,
    IReadOnlyList<int> VaeChannels)
{
    /// <summary>Residual blocks per level, in the UNet and the VAE encoder (the decoder has one more).</summary>
    public const int ResBlocksPerLevel = 2;

    /// <summary>Token positions of the text tower.</summary>
    public const int Positions = 77;

    /// <summary>Latent channels.</summary>
    public const int LatentChannels = 4;

    /// <summary>Stable Diffusion 1.5: 859,520,964 UNet, 123,060,480 text-tower and 83,653,863 VAE parameters.</summary>
    public static Sd1Layout Sd15 { get; } = new([320, 640, 1280, 1280], [true, true, true, false], 768, 12, 49408, [128, 256, 512, 512]);

    /// <summary>
    /// A few-MB model of the same structure (two UNet levels, a 2-layer 64-wide text tower whose 1,000 ids cover the
    /// shipped tiny tokenizers, a four-level VAE that scales by 8 like SD's): for tests of the generator and the benchmark.
    /// </summary>
    public static Sd1Layout Tiny { get; } = new([32, 64], [true, false], 64, 2, 1000, [32, 32, 32, 32]);

    /// <summary>The UNet's tensors.</summary>
    public IEnumerable<(string Name, long[] Shape)> UNet()
    {
        var c0 = UNetChannels[0];
        var time = 4 * c0;
        foreach (var t in Conv("conv_in", c0, LatentChannels, 3)) yield return t;
        foreach (var t in Linear("time_embedding.linear_1", time, c0)) yield return t;
        foreach (var t in Linear("time_embedding.linear_2", time, time)) yield return t;
        var skips = new Stack<int>();
        skips.Push(c0);
        var channels = c0;
        var levels = UNetChannels.Count;
        for (var level = 0; level < levels; level++)
        {
            var c = UNetChannels[level];
            for (var j = 0; j < ResBlocksPerLevel; j++)
            {
                foreach (var t in ResBlock($"down_blocks.{level}.resnets.{j}", channels, c, time)) yield return t;
                channels = c;
                if (UNetAttention[level])
                {
                    foreach (var t in Transformer($"down_blocks.{level}.attentions.{j}", c)) yield return t;
                }

                skips.Push(c);
            }

            if (level != levels - 1)
            {
                foreach (var t in Conv($"down_blocks.{level}.downsamplers.0.conv", c, c, 3)) yield return t;
                skips.Push(c);
            }
        }

        foreach (var t in ResBlock("mid_block.resnets.0", channels, channels, time)) yield return t;
        foreach (var t in Transformer("mid_block.attentions.0", channels)) yield return t;
        foreach (var t in ResBlock("mid_block.resnets.1", channels, channels, time)) yield return t;
        for (var up = 0; up < levels; up++)
        {
            var level = levels - 1 - up;
            var c = UNetChannels[level];
            for (var j = 0; j <= ResBlocksPerLevel; j++)
            {
                foreach (var t in ResBlock($"up_blocks.{up}.resnets.{j}", channels + skips.Pop(), c, time)) yield return t;
                channels = c;
                if (UNetAttention[level])
                {
                    foreach (var t in Transformer($"up_blocks.{up}.attentions.{j}", c)) yield return t;
                }
            }

            if (up != levels - 1)
            {
                foreach (var t in Conv($"up_blocks.{up}.upsamplers.0.conv", c, c, 3)) yield return t;
            }
        }

        foreach (var t in Norm("conv_norm_out", c0)) yield return t;
        foreach (var t in Conv("conv_out", LatentChannels, c0, 3)) yield return t;
    }

    /// <summary>The text tower's tensors (<c>text_model.*</c>).</summary>
    public IEnumerable<(string Name, long[] Shape)> TextEncoder()
    {
        const string p = "text_model.";
        var w = ContextWidth;
        yield return (p + "embeddings.token_embedding.weight", [Vocabulary, w]);
        yield return (p + "embeddings.position_embedding.weight", [Positions, w]);
        for (var i = 0; i < TextLayers; i++)
        {
            var layer = $"{p}encoder.layers.{i}.";
            foreach (var projection in new[] { "q_proj", "k_proj", "v_proj", "out_proj" })
            {
                foreach (var t in Linear(layer + "self_attn." + projection, w, w)) yield return t;
            }

            foreach (var t in Norm(layer + "layer_norm1", w)) yield return t;
            foreach (var t in Linear(layer + "mlp.fc1", 4 * w, w)) yield return t;
            foreach (var t in Linear(layer + "mlp.fc2", w, 4 * w)) yield return t;
            foreach (var t in Norm(layer + "layer_norm2", w)) yield return t;
        }

        foreach (var t in Norm(p + "final_layer_norm", w)) yield return t;
    }

    /// <summary>The VAE's tensors: encoder, <c>quant_conv</c>, <c>post_quant_conv</c>, decoder.</summary>
    public IEnumerable<(string Name, long[] Shape)> Vae() => VaeEncoder().Concat(VaeDecoder());

    /// <summary>The VAE decoder's tensors with <c>post_quant_conv</c> (what a diffusers-ONNX <c>vae_decoder</c> holds).</summary>
    public IEnumerable<(string Name, long[] Shape)> VaeDecoder()
    {
        var last = VaeChannels[^1];
        foreach (var t in Conv("post_quant_conv", LatentChannels, LatentChannels, 1)) yield return t;
        foreach (var t in Conv("decoder.conv_in", last, LatentChannels, 3)) yield return t;
        foreach (var t in VaeMiddle("decoder.mid_block", last)) yield return t;
        var channels = last;
        var levels = VaeChannels.Count;
        for (var up = 0; up < levels; up++)
        {
            var c = VaeChannels[levels - 1 - up];
            for (var j = 0; j <= ResBlocksPerLevel; j++)
            {
                foreach (var t in ResBlock($"decoder.up_blocks.{up}.resnets.{j}", channels, c, null)) yield return t;
                channels = c;
            }

            if (up != levels - 1)
            {
                foreach (var t in Conv($"decoder.up_blocks.{up}.upsamplers.0.conv", c, c, 3)) yield return t;
            }
        }

        foreach (var t in Norm("decoder.conv_norm_out", channels)) yield return t;
        foreach (var t in Conv("decoder.conv_out", 3, channels, 3)) yield return t;
    }

    /// <summary>The VAE encoder's tensors with <c>quant_conv</c>.</summary>
    public IEnumerable<(string Name, long[] Shape)> VaeEncoder()
    {
        var channels = VaeChannels[0];
        foreach (var t in Conv("encoder.conv_in", channels, 3, 3)) yield return t;
        for (var level = 0; level < VaeChannels.Count; level++)
        {
            var c = VaeChannels[level];
            for (var j = 0; j < ResBlocksPerLevel; j++)
            {
                foreach (var t in ResBlock($"encoder.down_blocks.{level}.resnets.{j}", channels, c, null)) yield return t;
                channels = c;
            }

            if (level != VaeChannels.Count - 1)
            {
                foreach (var t in Conv($"encoder.down_blocks.{level}.downsamplers.0.conv", c, c, 3)) yield return t;
            }
        }

        foreach (var t in VaeMiddle("encoder.mid_block", channels)) yield return t;
        foreach (var t in Norm("encoder.conv_norm_out", channels)) yield return t;
        foreach (var t in Conv("encoder.conv_out", 2 * LatentChannels, channels, 3)) yield return t;
        foreach (var t in Conv("quant_conv", 2 * LatentChannels, 2 * LatentChannels, 1)) yield return t;
    }

    /// <summary>The number of values in <paramref name="tensors"/>.</summary>
    public static long Count(IEnumerable<(string Name, long[] Shape)> tensors) => tensors.Sum(t => t.Shape.Aggregate(1L, (a, d) => a * d));

    private IEnumerable<(string, long[])> VaeMiddle(string name, int c)
    {
        foreach (var t in ResBlock(name + ".resnets.0", c, c, null)) yield return t;
        foreach (var t in Norm(name + ".attentions.0.group_norm", c)) yield return t;
        foreach (var projection in new[] { "to_q", "to_k", "to_v", "to_out.0" })
        {
            foreach (var t in Linear($"{name}.attentions.0.{projection}", c, c)) yield return t;
        }

        foreach (var t in ResBlock(name + ".resnets.1", c, c, null)) yield return t;
    }

    // A residual block; UNet blocks (time width given) add the time embedding's projection.
    internal static IEnumerable<(string, long[])> ResBlock(string name, int input, int output, int? time)
    {
        foreach (var t in Norm(name + ".norm1", input)) yield return t;
        foreach (var t in Conv(name + ".conv1", output, input, 3)) yield return t;
        if (time is { } width)
        {
            foreach (var t in Linear(name + ".time_emb_proj", output, width)) yield return t;
        }

        foreach (var t in Norm(name + ".norm2", output)) yield return t;
        foreach (var t in Conv(name + ".conv2", output, output, 3)) yield return t;
        if (input != output)
        {
            foreach (var t in Conv(name + ".conv_shortcut", output, input, 1)) yield return t;
        }
    }

    // SD 1.x's spatial transformer: 1×1 projections, self- and cross-attention (no q/k/v biases), GEGLU feed-forward.
    private IEnumerable<(string, long[])> Transformer(string name, int c)
    {
        var block = name + ".transformer_blocks.0.";
        foreach (var t in Norm(name + ".norm", c)) yield return t;
        foreach (var t in Conv(name + ".proj_in", c, c, 1)) yield return t;
        foreach (var (attention, keyWidth) in new[] { ("attn1", c), ("attn2", ContextWidth) })
        {
            yield return ($"{block}{attention}.to_q.weight", [c, c]);
            yield return ($"{block}{attention}.to_k.weight", [c, keyWidth]);
            yield return ($"{block}{attention}.to_v.weight", [c, keyWidth]);
            foreach (var t in Linear($"{block}{attention}.to_out.0", c, c)) yield return t;
        }

        foreach (var norm in new[] { "norm1", "norm2", "norm3" })
        {
            foreach (var t in Norm(block + norm, c)) yield return t;
        }

        foreach (var t in Linear(block + "ff.net.0.proj", 8 * c, c)) yield return t;
        foreach (var t in Linear(block + "ff.net.2", c, 4 * c)) yield return t;
        foreach (var t in Conv(name + ".proj_out", c, c, 1)) yield return t;
    }

    internal static IEnumerable<(string, long[])> Conv(string name, int output, int input, int kernel) =>
        [(name + ".weight", [output, input, kernel, kernel]), (name + ".bias", [output])];

    internal static IEnumerable<(string, long[])> Linear(string name, int output, int input) =>
        [(name + ".weight", [output, input]), (name + ".bias", [output])];

    internal static IEnumerable<(string, long[])> Norm(string name, int width) =>
        [(name + ".weight", [width]), (name + ".bias", [width])];
}
