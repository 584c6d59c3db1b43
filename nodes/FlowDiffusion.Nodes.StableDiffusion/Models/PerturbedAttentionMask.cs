using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// PAG's row mask as a denoiser call's extra, [batch, 1]: 1 for a row whose middle-block self-attention the UNet replaces
/// by its values (ComfyUI's PerturbedAttentionGuidance), 0 for a plain row. <see cref="OnnxUNetModel"/> feeds it to the
/// graph's optional <c>pag_mask</c> input.
/// </summary>
internal static class PerturbedAttentionMask
{
    /// <summary>The extra's key.</summary>
    public static readonly ExtraKey<ExtraTensor> Key = ExtraKey.Tensor("pag_mask");

    /// <summary>The mask of <paramref name="rows"/> rows, the last <paramref name="perturbed"/> of them perturbed.</summary>
    public static ExtraTensor Last(int rows, int perturbed)
    {
        var mask = new float[rows];
        Array.Fill(mask, 1f, rows - perturbed, perturbed);
        return new ExtraTensor([rows, 1], mask);
    }
}
