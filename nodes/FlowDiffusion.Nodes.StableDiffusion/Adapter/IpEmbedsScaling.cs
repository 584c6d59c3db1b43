using FlowDiffusion.Diffusion.Onnx;

namespace FlowDiffusion.Nodes.StableDiffusion.Adapter;

/// <summary>
/// How an image prompt's weight enters its attention, as ComfyUI's IPAdapter_plus pack offers it: "V only" scales the
/// image attention's output (the paper's λ, what the UNet's per-layer scale does); "K+V" scales the keys and values
/// themselves, so the weight also sharpens or flattens the attention; "w/ C penalty" first multiplies the weight by the
/// layer's width / 1280; "K+mean(V)" scales the keys and only each image's mean value over its tokens.
/// </summary>
internal static class IpEmbedsScaling
{
    /// <summary>The modes, by the pack's names.</summary>
    public static readonly string[] Names = ["V only", "K+V", "K+V w/ C penalty", "K+mean(V) w/ C penalty"];

    /// <summary>
    /// The keys and values the UNet attends and its per-layer scales, for <paramref name="attention"/> weighted by
    /// <paramref name="weights"/> per layer (<paramref name="imageTokens"/> tokens per image).
    /// </summary>
    public static (IpKeysValues Attention, float[] Scales) Apply(string mode, IpKeysValues attention, float[] weights, int imageTokens)
    {
        if (mode == "V only")
        {
            return (attention, weights);
        }

        if (!Names.Contains(mode))
        {
            throw new ArgumentException($"embeds_scaling: '{mode}' is not one of {string.Join(", ", Names)}");
        }

        var keys = new float[attention.Layers][];
        var values = new float[attention.Layers][];
        var scales = new float[attention.Layers];
        for (var layer = 0; layer < attention.Layers; layer++)
        {
            var channels = attention.Channels[layer];
            var w = mode.EndsWith("C penalty", StringComparison.Ordinal) ? (float)(weights[layer] * (channels / 1280.0)) : weights[layer];
            keys[layer] = [.. attention.Keys[layer].Select(k => k * w)];
            values[layer] = mode == "K+mean(V) w/ C penalty" ? MeanScaled(attention.Values[layer], channels, imageTokens, w) : [.. attention.Values[layer].Select(v => v * w)];
            scales[layer] = weights[layer] == 0 ? 0 : 1;
        }

        return (attention with { Keys = keys, Values = values }, scales);
    }

    // (v − mean) + mean · w, the mean over each image's tokens per channel.
    private static float[] MeanScaled(float[] values, int channels, int imageTokens, float w)
    {
        var result = new float[values.Length];
        var images = values.Length / (imageTokens * channels);
        for (var image = 0; image < images; image++)
        {
            var start = image * imageTokens * channels;
            for (var c = 0; c < channels; c++)
            {
                var sum = 0f;
                for (var t = 0; t < imageTokens; t++)
                {
                    sum += values[start + (t * channels) + c];
                }

                var mean = sum / imageTokens;
                for (var t = 0; t < imageTokens; t++)
                {
                    var i = start + (t * channels) + c;
                    result[i] = values[i] - mean + (mean * w);
                }
            }
        }

        return result;
    }
}
