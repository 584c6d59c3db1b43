using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's attention multipliers: UNetSelfAttentionMultiply and UNetCrossAttentionMultiply → unet.attention_multiply
/// (attention self, attn1; cross, attn2), CLIPAttentionMultiply → clip.attention_multiply; each scales the weights and
/// biases of the attention's q, k, v and output projections by q, k, v and out (0 … 10), as ComfyUI's patches do.
/// </summary>
public sealed partial class ApiPromptConverter
{
    private ComfyValue[]? UNetAttentionMultiply(string id, JsonObject inputs, string type)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var factors = AttentionFactors(id, inputs);
        if (model is null || factors is null) return null;
        var node = Add(id, null, "unet.attention_multiply", [("unet", model.Unet)],
            [("attention", type == "UNetSelfAttentionMultiply" ? "self" : "cross"), .. factors]);
        return [model with { Unet = $"{node}.unet_out" }];
    }

    private ComfyValue[]? ClipAttentionMultiply(string id, JsonObject inputs)
    {
        var clip = Link<ClipValue>(id, inputs, "clip");
        var factors = AttentionFactors(id, inputs);
        if (clip is null || factors is null) return null;
        var node = Add(id, null, "clip.attention_multiply", [("clip", clip.Clip)], factors);
        return [clip with { Clip = $"{node}.clip_out" }];
    }

    // q, k, v and out: 0 … 10, default 1, ComfyUI's range.
    private (string, object)[]? AttentionFactors(string id, JsonObject inputs)
    {
        string[] names = ["q", "k", "v", "out"];
        var values = names.Select(name => Number(id, inputs, name, 1)).ToArray();
        if (values.Any(v => v is null)) return null;
        var valid = true;
        for (var i = 0; i < names.Length; i++) valid &= Within(id, names[i], values[i]!.Value, 0, 10);
        return valid ? [.. names.Select((name, i) => (name, (object)values[i]!.Value))] : null;
    }
}
