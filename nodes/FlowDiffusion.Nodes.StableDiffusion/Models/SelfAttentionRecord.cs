using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// SAG's request, as a denoiser call's extra, for the middle block's self-attention map of some of the call's rows (ComfyUI's
/// SelfAttentionGuidance keeps the unconditional rows' attention scores while the UNet runs): <see cref="OnnxUNetModel"/>
/// feeds the rows to the graph's <c>sag_rows</c> input and leaves its <c>sag_attention</c> output in <see cref="Map"/>. One
/// record serves one call; the guider that made it reads it after the call.
/// </summary>
/// <param name="rows">The rows mapped, in the order the map lists them.</param>
internal sealed class SelfAttentionRecord(int[] rows)
{
    /// <summary>The extra's key. A record belongs to one call of its guider; batching one as a plain extra is an error.</summary>
    public static readonly ExtraKey<SelfAttentionRecord> Key = new("sag.attention_record", _ =>
        throw new ArgumentException("SAG's attention record belongs to one UNet call of guidance.cfg; it cannot be batched with other conditionings"));

    /// <summary>The rows mapped.</summary>
    public int[] Rows => rows;

    /// <summary>The map, [rows, middle tokens], once the call has run; null before.</summary>
    public float[]? Map { get; set; }
}
