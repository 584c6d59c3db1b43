using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The SD 1.x UNet as ONNX: <c>sample</c> [batch, in, h, w], <c>timestep</c> float32 [batch] and
/// <c>encoder_hidden_states</c> [batch, tokens, context] → <c>out_sample</c> (the noise prediction), with the
/// checkpoint's tensors under their diffusers names. Residual blocks with the time embedding, spatial transformers
/// (self-attention, cross-attention, GEGLU feed-forward), down/up sampling and skip concatenation as LDM defines them.
/// An SDXL UNet (one with an added embedding) also takes <c>text_embeds</c> [batch, pooled] and <c>time_ids</c>
/// [batch, 6]: their Fourier embedding and the pooled text go through <c>add_embedding</c> into the time embedding;
/// its transformers stack several blocks and project linearly. An LCM-distilled UNet (one with
/// <c>time_embedding.cond_proj</c>) also takes <c>timestep_cond</c> [batch, width], projected and added to the timestep's
/// sinusoid before the time embedding's first layer, as diffusers' TimestepEmbedding does.
/// </summary>
public static class UNetGraph
{
    private const float ResNormEpsilon = 1e-5f;
    private const float TransformerNormEpsilon = 1e-6f;

    /// <summary>
    /// Builds the graph (weights embedded unless <paramref name="binding"/> says otherwise) with the input groups
    /// <paramref name="extras"/> names. With <see cref="UNetExtraInputs.ControlResiduals"/>, <c>down_block_i</c> is added to
    /// the i-th skip connection and <c>mid_block_res_sample</c> to the middle block's output, as diffusers'
    /// <c>down_block_additional_residuals</c> and <c>mid_block_additional_residual</c> are, and the optional T2I-Adapter
    /// feature inputs (<see cref="AdapterFeatures"/>) are added inside the encoder, as <c>down_intrablock_additional_residuals</c>
    /// are. With <see cref="UNetExtraInputs.IpAdapter"/>, every cross-attention layer n adds <c>ip_scale</c>[:, n] ·
    /// Attn(Q, <c>ip_key_n</c>, <c>ip_value_n</c>) to its text attention before <c>to_out</c>. Zero residuals, features and
    /// scales give the plain graph's output. With <see cref="UNetExtraInputs.FreeU"/>, <see cref="FreeUPatch"/> scales the
    /// backbone and filters the skip before each decoder concatenation it applies to; its defaults give the plain output.
    /// With <see cref="UNetExtraInputs.PerturbedAttention"/>, <see cref="PerturbedAttention"/> mixes the middle block's
    /// self-attentions toward their value projections by <c>pag_mask</c>; its default (0) gives the plain output. With
    /// <see cref="UNetExtraInputs.DeepShrink"/>, <see cref="DeepShrinkPatch"/> resizes the backbone around the chosen input
    /// block's skip and back before the decoder's concatenations (before FreeU's patch); its default (block 0) gives the plain output.
    /// <see cref="UNetExtraInputs.SelfAttentionMap"/>, <see cref="SelfAttentionMap"/> adds the output <c>sag_attention</c> for
    /// the rows <c>sag_rows</c> names (none by default). With <see cref="UNetExtraInputs.HyperTile"/>, <see cref="HyperTilePatch"/>
    /// tiles the self-attentions whose token count a <c>hypertile_tiles</c> row names; its default names none. With
    /// <see cref="UNetExtraInputs.TokenMerge"/>, <see cref="TokenMergePatch"/> merges the queries of the self-attentions whose
    /// token count <c>tome_order</c> holds (untiled); its default merges none.
    /// </summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, UNetArchitecture arch, string source, WeightBinding? binding = null, UNetExtraInputs extras = UNetExtraInputs.None)
    {
        var g = new GraphBuilder("unet");
        var controlled = extras.HasFlag(UNetExtraInputs.ControlResiduals);
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        var x = g.Input("sample", TensorElementType.Float, "batch", arch.InChannels, "height", "width");
        var timestep = g.Input("timestep", TensorElementType.Float, "batch");
        var context = g.Input("encoder_hidden_states", TensorElementType.Float, "batch", "sequence", arch.ContextWidth);
        var ip = extras.HasFlag(UNetExtraInputs.IpAdapter) ? new IpAdapterLayers.Inputs(g, arch) : null;
        var freeU = extras.HasFlag(UNetExtraInputs.FreeU) ? new FreeUPatch.Inputs(g) : null;
        // PAG and SAG act on the middle block's attention: a UNet without one (SSD-1B, Segmind Vega) takes neither, and asking is an error.
        var middleAttention = arch.Middle == UNetMiddle.Attention;
        var pag = extras.HasFlag(UNetExtraInputs.PerturbedAttention) && middleAttention ? new PerturbedAttention.Input(g) : null;
        var shrink = extras.HasFlag(UNetExtraInputs.DeepShrink) ? new DeepShrinkPatch.Inputs(g) : null;
        var sag = extras.HasFlag(UNetExtraInputs.SelfAttentionMap) && middleAttention ? new SelfAttentionMap.Recorder(g) : null;
        var tile = extras.HasFlag(UNetExtraInputs.HyperTile) ? new HyperTilePatch.Input(g) : null;
        var merge = extras.HasFlag(UNetExtraInputs.TokenMerge) ? new TokenMergePatch.Input(g) : null;
        var sdxl = arch.AddedEmbeddingWidth > 0;
        var emb = TimeEmbedding(n, arch, timestep);

        var h = n.Conv(x, "conv_in");
        var skips = new Stack<string>();
        h = Keep(h);
        var levels = arch.LevelChannels.Count;
        for (var level = 0; level < levels; level++)
        {
            // A T2I-Adapter's feature joins the level's last output: after its last transformer, else after the whole level.
            var featureAfter = !controlled ? -1 : arch.AttentionLevels[level] || level == levels - 1 ? arch.ResBlocksPerLevel - 1 : arch.ResBlocksPerLevel;
            for (var j = 0; j < arch.ResBlocksPerLevel; j++)
            {
                h = ResBlock(n, h, emb, $"down_blocks.{level}.resnets.{j}");
                if (arch.DownDepth(level, j) is > 0 and var depth)
                {
                    h = Transformer(n, h, context, arch.LevelChannels[level], arch.HeadsAt(arch.LevelChannels[level]), $"down_blocks.{level}.attentions.{j}", depth, ip, tile: tile, merge: merge);
                }

                h = j == featureAfter ? AdapterFeatures.Add(g, arch, level, h) : h;
                h = Keep(h);
            }

            if (level != levels - 1)
            {
                h = n.Conv(h, $"down_blocks.{level}.downsamplers.0.conv", 2);
                h = featureAfter == arch.ResBlocksPerLevel ? AdapterFeatures.Add(g, arch, level, h) : h;
                h = Keep(h);
            }
        }

        h = MiddleBlock(n, h, emb, context, arch, ip, pag, sag, tile, merge);
        if (controlled)
        {
            h = AdapterFeatures.Add(g, arch, levels, h);
            (h, skips) = ControlResiduals.AddInputs(g, arch, h, skips);
        }

        var width = arch.LevelChannels[^1]; // h's channels, which FreeU's patch goes by
        for (var up = 0; up < levels; up++)
        {
            var level = levels - 1 - up;
            for (var j = 0; j <= arch.ResBlocksPerLevel; j++)
            {
                var skip = skips.Pop();
                h = shrink is null ? h : shrink.Restore(g, h, skip);
                if (freeU is not null)
                {
                    (h, skip) = freeU.Apply(g, arch.ModelChannels, h, width, skip);
                }

                h = ResBlock(n, g.Concat(1, h, skip), emb, $"up_blocks.{up}.resnets.{j}");
                width = arch.LevelChannels[level];
                if (arch.UpDepth(up, j) is > 0 and var depth)
                {
                    h = Transformer(n, h, context, arch.LevelChannels[level], arch.HeadsAt(arch.LevelChannels[level]), $"up_blocks.{up}.attentions.{j}", depth, ip, tile: tile, merge: merge);
                }
            }

            if (up != levels - 1)
            {
                // Nearest 2× to the size of the skip it meets next (diffusers' upsample_size), so odd sizes work too.
                h = n.Conv(g.ResizeNearestLike(h, skips.Peek()), $"up_blocks.{up}.upsamplers.0.conv");
            }
        }

        h = n.Conv(g.Silu(n.GroupNorm(h, "conv_norm_out", ResNormEpsilon)), "conv_out");
        g.Output(h, "out_sample", TensorElementType.Float, "batch", arch.OutChannels, "height", "width");
        sag?.Output(g);
        return g.Build($"{(sdxl ? "SDXL" : arch.HeadWidth is not null ? "SD 2.x" : "SD 1.x")} UNet built from {Path.GetFileName(source)}: widths {string.Join("/", arch.LevelChannels)}, {arch.ResBlocksPerLevel} blocks per level, context {arch.ContextWidth}.");

        // An input block's output becomes its skip; Deep Shrink may resize the backbone around that.
        string Keep(string output)
        {
            if (shrink is not null)
            {
                return shrink.Keep(g, skips, output);
            }

            skips.Push(output);
            return output;
        }
    }

    /// <summary>
    /// The time embedding (LDM's sinusoid, cos first, through <c>time_embedding</c>); for a UNet with an added embedding
    /// (SDXL) it declares the <c>text_embeds</c> and <c>time_ids</c> inputs and adds <c>add_embedding</c> over the pooled
    /// text and each size number's 256-wide sinusoid. The ControlNet's encoder copy embeds time the same way.
    /// </summary>
    internal static string TimeEmbedding(NetworkGraph n, UNetArchitecture arch, string timestep)
    {
        var g = n.G;
        var sinusoid = g.Mul(g.Unsqueeze(timestep, 1), g.Weight("timestep_frequencies", Frequencies(arch.ModelChannels), 1, arch.ModelChannels / 2));
        var emb = g.Concat(1, g.Cos(sinusoid), g.Sin(sinusoid)); // LDM: cos first (diffusers' flip_sin_to_cos)
        if (arch.TimeCondWidth > 0)
        {
            // An LCM-distilled UNet: the guidance-scale embedding, projected, joins the sinusoid before the MLP.
            var timestepCond = g.Input("timestep_cond", TensorElementType.Float, "batch", arch.TimeCondWidth);
            emb = g.Add(emb, n.Linear(timestepCond, "time_embedding.cond_proj"));
        }

        emb = n.Linear(g.Silu(n.Linear(emb, "time_embedding.linear_1")), "time_embedding.linear_2");
        if (arch.AddedEmbeddingWidth > 0)
        {
            var textEmbeds = g.Input("text_embeds", TensorElementType.Float, "batch", arch.PooledWidth);
            var timeIds = g.Input("time_ids", TensorElementType.Float, "batch", arch.TimeIds);
            // Each size number's sinusoid (cos first, 256 wide), flattened in order after the pooled text embedding.
            var ids = g.Mul(g.Unsqueeze(timeIds, 2), g.Weight("time_id_frequencies", Frequencies(UNetArchitecture.TimeIdWidth), 1, 1, UNetArchitecture.TimeIdWidth / 2));
            var fourier = g.Reshape(g.Concat(2, g.Cos(ids), g.Sin(ids)), 0, arch.TimeIds * UNetArchitecture.TimeIdWidth);
            var y = g.Concat(1, textEmbeds, fourier);
            emb = g.Add(emb, n.Linear(g.Silu(n.Linear(y, "add_embedding.linear_1")), "add_embedding.linear_2"));
        }

        return emb;
    }

    /// <summary>exp(−ln(10000)·i/half) for i &lt; half, in float32 arithmetic as LDM's timestep_embedding computes it.</summary>
    internal static float[] Frequencies(int channels)
    {
        var half = channels / 2;
        var scale = (float)-Math.Log(10000.0);
        return Enumerable.Range(0, half).Select(i => MathF.Exp(scale * i / half)).ToArray();
    }

    /// <summary>
    /// The middle block as <see cref="UNetArchitecture.Middle"/> says: residual block, transformer, residual block; a lone
    /// residual block; or nothing. The ControlNet's encoder copy has the same.
    /// </summary>
    internal static string MiddleBlock(NetworkGraph n, string h, string emb, string context, UNetArchitecture arch, IpAdapterLayers.Inputs? ip = null,
        PerturbedAttention.Input? pag = null, SelfAttentionMap.Recorder? sag = null, HyperTilePatch.Input? tile = null, TokenMergePatch.Input? merge = null)
    {
        if (arch.Middle == UNetMiddle.None)
        {
            return h;
        }

        h = ResBlock(n, h, emb, "mid_block.resnets.0");
        if (arch.Middle == UNetMiddle.ResBlock)
        {
            return h;
        }

        h = Transformer(n, h, context, arch.LevelChannels[^1], arch.HeadsAt(arch.LevelChannels[^1]), "mid_block.attentions.0", arch.MiddleTransformerDepth, ip, pag, sag, tile, merge);
        return ResBlock(n, h, emb, "mid_block.resnets.1");
    }

    internal static string ResBlock(NetworkGraph n, string x, string emb, string name)
    {
        var g = n.G;
        var h = n.Conv(g.Silu(n.GroupNorm(x, name + ".norm1", ResNormEpsilon)), name + ".conv1");
        h = g.Add(h, g.Unsqueeze(n.Linear(g.Silu(emb), name + ".time_emb_proj"), 2, 3));
        h = n.Conv(g.Silu(n.GroupNorm(h, name + ".norm2", ResNormEpsilon)), name + ".conv2");
        var shortcut = n.Has(name + ".conv_shortcut.weight") ? n.Conv(x, name + ".conv_shortcut") : x;
        return g.Add(shortcut, h);
    }

    internal static string Transformer(NetworkGraph n, string x, string context, int channels, int heads, string name, int depth = 1, IpAdapterLayers.Inputs? ip = null,
        PerturbedAttention.Input? pag = null, SelfAttentionMap.Recorder? sag = null, HyperTilePatch.Input? tile = null, TokenMergePatch.Input? merge = null)
    {
        var g = n.G;
        var normed = n.GroupNorm(x, name + ".norm", TransformerNormEpsilon);
        // SD 1.x projects with 1×1 convolutions; SD 2.x checkpoints use linear layers.
        var convProjection = n.ShapeOf(name + ".proj_in.weight").Length == 4;
        var h = convProjection ? n.ToSequence(n.Conv(normed, name + ".proj_in"), channels) : n.Linear(n.ToSequence(normed, channels), name + ".proj_in");
        for (var d = 0; d < depth; d++)
        {
            var block = $"{name}.transformer_blocks.{d}.";
            var n1 = n.LayerNorm(h, block + "norm1");
            var (q1, k1, v1) = (n.Linear(n1, block + "attn1.to_q"), n.Linear(n1, block + "attn1.to_k"), n.Linear(n1, block + "attn1.to_v"));
            string Attend(GraphBuilder b) => tile is null ? b.MultiHeadAttention(q1, k1, v1, heads) : tile.Attend(b, q1, k1, v1, heads);
            var self = merge is null ? Attend(g) : merge.Attend(g, n1, q1, k1, v1, heads, Attend);
            sag?.Record(g, q1, k1, channels, heads);
            h = g.Add(h, n.Linear(pag is null ? self : pag.Mix(g, self, v1), block + "attn1.to_out.0"));
            var n2 = n.LayerNorm(h, block + "norm2");
            var q = n.Linear(n2, block + "attn2.to_q");
            var attended = n.Attention(q, n.Linear(context, block + "attn2.to_k"), n.Linear(context, block + "attn2.to_v"), channels, heads);
            if (ip is not null)
            {
                var (ipKey, ipValue, ipScale) = ip.For(block.TrimEnd('.'));
                attended = g.Add(attended, g.Mul(n.Attention(q, ipKey, ipValue, channels, heads), ipScale));
            }

            h = g.Add(h, n.Linear(attended, block + "attn2.to_out.0"));
            var inner = n.ShapeOf(block + "ff.net.0.proj.weight")[0] / 2;
            var projected = n.Linear(n.LayerNorm(h, block + "norm3"), block + "ff.net.0.proj");
            var value = g.Slice(projected, [0], [inner], [2]);
            var gate = g.Slice(projected, [inner], [2 * inner], [2]);
            h = g.Add(h, n.Linear(g.Mul(value, n.Gelu(gate)), block + "ff.net.2"));
        }
        var output = convProjection ? n.Conv(n.ToMap(h, x), name + ".proj_out") : n.ToMap(n.Linear(h, name + ".proj_out"), x);
        return g.Add(x, output);
    }
}
