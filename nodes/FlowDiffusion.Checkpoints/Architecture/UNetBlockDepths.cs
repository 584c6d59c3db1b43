using FlowDiffusion.Checkpoints.Weights;

namespace FlowDiffusion.Checkpoints.Architecture;

/// <summary>
/// Each attention's transformer depth and the middle block's contents, read from a UNet's diffusers names the way
/// ComfyUI's model detection counts them from the LDM keys: an attention's depth is the number of its
/// <c>transformer_blocks.N</c> (none: no attention after that residual block), counted per encoder and per decoder block,
/// so the distilled SDXLs (SSD-1B's decoder differs from its encoder; SSD-1B and Segmind Vega keep one residual block in
/// the middle) read as they are.
/// </summary>
internal static class UNetBlockDepths
{
    /// <summary>
    /// <paramref name="arch"/> with its middle block read, and its per-attention depths set where they are not its per-level
    /// ones (<see cref="UNetArchitecture.EncoderDepths"/>, <see cref="UNetArchitecture.DecoderDepths"/>). A ControlNet's
    /// encoder copy (<paramref name="decoder"/> false) has no decoder to read.
    /// </summary>
    public static UNetArchitecture Read(IReadOnlyDictionary<string, StoredTensor> tensors, UNetArchitecture arch, bool decoder = true)
    {
        var keys = tensors.Keys;
        var levels = arch.LevelChannels.Count;
        var encoder = Enumerable.Range(0, levels).Select(l => (IReadOnlyList<int>)[.. Enumerable.Range(0, arch.ResBlocksPerLevel)
            .Select(j => Shapes.CountIndices(keys, $"down_blocks.{l}.attentions.{j}.transformer_blocks."))]).ToArray();
        var up = !decoder ? null : Enumerable.Range(0, levels).Select(u => (IReadOnlyList<int>)[.. Enumerable.Range(0, arch.ResBlocksPerLevel + 1)
            .Select(j => Shapes.CountIndices(keys, $"up_blocks.{u}.attentions.{j}.transformer_blocks."))]).ToArray();
        var middle = tensors.ContainsKey("mid_block.attentions.0.proj_in.weight") ? UNetMiddle.Attention
            : keys.Any(k => k.StartsWith("mid_block.resnets.0.", StringComparison.Ordinal)) ? UNetMiddle.ResBlock
            : UNetMiddle.None;
        var perLevel = encoder.Select((d, l) => d.Select((depth, j) => depth == arch.DownDepth(l, j)).All(same => same)).All(same => same)
            && (up is null || up.Select((d, u) => d.Select((depth, j) => depth == arch.UpDepth(u, j)).All(same => same)).All(same => same));
        return arch with
        {
            EncoderDepths = perLevel ? null : encoder,
            DecoderDepths = perLevel ? null : up,
            Middle = middle,
            MiddleTransformerDepth = middle == UNetMiddle.Attention ? Shapes.CountIndices(keys, "mid_block.attentions.0.transformer_blocks.") : 0,
        };
    }
}
