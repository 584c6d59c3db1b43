using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Weights;

namespace FlowDiffusion.Checkpoints.ControlNet;

/// <summary>
/// A ControlNet's shape, read from its tensors (diffusers names): the encoder copy (a UNet's input channels, widths,
/// blocks per level, attention levels, context width; for SDXL, with <c>add_embedding</c>, also the transformer depths
/// and the pooled-text width) and the control-image embedding (channels of the control image,
/// the width of each of its convolutions; each pair after the first downsamples by 2).
/// </summary>
public sealed record ControlNetArchitecture(UNetArchitecture Encoder, int ConditioningChannels, IReadOnlyList<int> HintChannels)
{
    /// <summary>Whether it is an SDXL ControlNet (its encoder takes <c>text_embeds</c> and <c>time_ids</c>).</summary>
    public bool IsSdxl => Encoder.AddedEmbeddingWidth > 0;

    /// <summary>How many pixels of the control image make one latent pixel: 2 per downsampling pair.</summary>
    public int HintDownscale => 1 << ((HintChannels.Count - 2) / 2);

    /// <summary>A union ControlNet's (ControlNet++) added parts, or null for a ControlNet of one control type.</summary>
    public UnionControlArchitecture? Union { get; init; }

    /// <summary>Reads the shape from canonical (diffusers) tensor names.</summary>
    public static ControlNetArchitecture Detect(IReadOnlyDictionary<string, StoredTensor> tensors, string source, int heads = UNetArchitecture.ConventionalHeads)
    {
        long[] Shape(string name) => tensors.TryGetValue(name, out var t) ? t.Shape : throw new CheckpointException($"{source}: ControlNet tensor '{name}' is missing.");
        var convIn = Shape("conv_in.weight");
        var levels = Shapes.CountIndices(tensors.Keys, "down_blocks.");
        var resBlocks = Shapes.CountIndices(tensors.Keys, "down_blocks.0.resnets.");
        if (levels == 0 || resBlocks == 0)
        {
            throw new CheckpointException($"{source}: the ControlNet has no down blocks; it is not an SD 1.x or SDXL ControlNet.");
        }

        var widths = Enumerable.Range(0, levels).Select(l => (int)Shape($"down_blocks.{l}.resnets.0.conv1.weight")[0]).ToArray();
        var attention = Enumerable.Range(0, levels).Select(l => tensors.ContainsKey($"down_blocks.{l}.attentions.0.norm.weight")).ToArray();
        var context = (int)Shape(UNetArchitecture.ContextKey(tensors, source))[1];
        var encoder = new UNetArchitecture((int)convIn[1], (int)convIn[1], (int)convIn[0], widths, resBlocks, attention, context, heads);
        if (tensors.TryGetValue("add_embedding.linear_1.weight", out var added))
        {
            // SDXL (diffusers' addition_embed_type "text_time"): the pooled text and the six size numbers, as the base UNet takes them.
            var width = (int)added.Shape[1];
            if (width <= UNetArchitecture.TimeIdCount * UNetArchitecture.TimeIdWidth)
            {
                throw new CheckpointException($"{source}: the ControlNet's added embedding takes {width} features, too few for a pooled text embedding and {UNetArchitecture.TimeIdCount} size numbers of {UNetArchitecture.TimeIdWidth}.");
            }

            const int headWidth = UNetArchitecture.ConventionalSdxlHeadWidth;
            foreach (var w in widths.Where(w => w % 32 != 0 || (w >= headWidth && w % headWidth != 0)))
            {
                throw new CheckpointException($"{source}: ControlNet width {w} does not split into {headWidth}-wide heads and 32 norm groups.");
            }

            encoder = encoder with
            {
                TransformerDepths = Enumerable.Range(0, levels).Select(l => Shapes.CountIndices(tensors.Keys, $"down_blocks.{l}.attentions.0.transformer_blocks.")).ToArray(),
                HeadWidth = headWidth,
                AddedEmbeddingWidth = width,
            };
        }
        else if (UNetArchitecture.HasLinearProjections(tensors))
        {
            // SD 2.x (linear transformer projections, no added embedding): heads 64 wide, as its UNet's.
            const int headWidth = UNetArchitecture.ConventionalSd2HeadWidth;
            foreach (var w in widths.Where(w => w % 32 != 0 || (w >= headWidth && w % headWidth != 0)))
            {
                throw new CheckpointException($"{source}: ControlNet width {w} does not split into {headWidth}-wide heads and 32 norm groups.");
            }

            encoder = encoder with { HeadWidth = headWidth };
        }
        else
        {
            foreach (var width in widths.Where(w => w % heads != 0 || w % 32 != 0))
            {
                throw new CheckpointException($"{source}: ControlNet width {width} does not split into {heads} heads and 32 norm groups.");
            }
        }

        // Each encoder attention's depth and the middle block as the file has them (an SSD-1B ControlNet keeps one residual block there).
        encoder = UNetBlockDepths.Read(tensors, encoder, decoder: false);
        var blocks = Shapes.CountIndices(tensors.Keys, "controlnet_cond_embedding.blocks.");
        if (blocks % 2 != 0)
        {
            throw new CheckpointException($"{source}: the control-image embedding has {blocks} blocks; ControlNet's come in pairs (a convolution, then one of stride 2).");
        }

        var hint = new List<int> { (int)Shape("controlnet_cond_embedding.conv_in.weight")[0] };
        hint.AddRange(Enumerable.Range(0, blocks).Select(b => (int)Shape($"controlnet_cond_embedding.blocks.{b}.weight")[0]));
        var convOut = Shape("controlnet_cond_embedding.conv_out.weight");
        if (convOut[0] != convIn[0])
        {
            throw new CheckpointException($"{source}: the control-image embedding ends at {convOut[0]} channels but conv_in has {convIn[0]}.");
        }

        hint.Add((int)convOut[0]);
        var skips = Graphs.ControlResiduals.SkipChannels(encoder).Count;
        for (var i = 0; i < skips; i++)
        {
            Shape($"controlnet_down_blocks.{i}.weight");
        }

        Shape("controlnet_mid_block.weight");
        return new ControlNetArchitecture(encoder, (int)Shape("controlnet_cond_embedding.conv_in.weight")[1], hint)
        {
            Union = UnionControlArchitecture.Detect(tensors, source, (int)convOut[0], encoder.TimeWidth),
        };
    }
}
