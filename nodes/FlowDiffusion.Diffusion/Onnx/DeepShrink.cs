namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// Kohya's Deep Shrink (ComfyUI's PatchModelAddDownscale) for a UNet graph built with its inputs: the encoder's backbone
/// shrunk by <paramref name="Factor"/> after input block <paramref name="Block"/> (ComfyUI's numbering, conv_in being 0)
/// and resized back to each skip's size in the decoder. Whether it acts at a step is the caller's choice (the sigma window).
/// </summary>
/// <param name="Block">The input block, 1 or more (a block the UNet lacks changes nothing, as in ComfyUI).</param>
/// <param name="Factor">The downscale factor: each side becomes round(side / factor).</param>
/// <param name="AfterSkip">True to keep the block's skip at full size (ComfyUI's default), false to shrink it too.</param>
/// <param name="DownscaleMethod">One of <see cref="Methods"/>.</param>
/// <param name="UpscaleMethod">One of <see cref="Methods"/>.</param>
public sealed record DeepShrink(int Block, double Factor, bool AfterSkip, string DownscaleMethod, string UpscaleMethod)
{
    /// <summary>The graph's block input (int64 [1]; 0 is off).</summary>
    public const string BlockInput = "deep_shrink_block";

    /// <summary>The graph's scale input (float64 [1]: 1 / factor).</summary>
    public const string ScaleInput = "deep_shrink_scale";

    /// <summary>The graph's skip input (int64 [1]: 1 keeps the skip before shrinking).</summary>
    public const string AfterSkipInput = "deep_shrink_after_skip";

    /// <summary>The graph's methods input (int64 [2]: the indices in <see cref="Methods"/> of the downscale and the upscale).</summary>
    public const string MethodsInput = "deep_shrink_methods";

    /// <summary>The methods the graph resizes by, in the order of their indices, under ComfyUI's names.</summary>
    public static IReadOnlyList<string> Methods { get; } = ["bicubic", "nearest-exact", "bilinear", "area", "bislerp"];

    /// <summary>The input names in the order <see cref="BlockInput"/>, <see cref="ScaleInput"/>, <see cref="AfterSkipInput"/>, <see cref="MethodsInput"/>.</summary>
    public static IReadOnlyList<string> Inputs { get; } = [BlockInput, ScaleInput, AfterSkipInput, MethodsInput];

    /// <summary>The downscale's and the upscale's index in <see cref="Methods"/>, as the methods input takes them.</summary>
    public long[] MethodIndices => [IndexOf(DownscaleMethod), IndexOf(UpscaleMethod)];

    /// <summary>The settings' problem, or null when the graph can take them.</summary>
    public string? Problem() =>
        Block < 1 ? $"block_number must be 1 or more, not {Block}"
        : !(Factor > 0 && double.IsFinite(Factor)) ? $"downscale_factor must be a positive number, not {Factor}"
        : MethodProblem("downscale_method", DownscaleMethod) ?? MethodProblem("upscale_method", UpscaleMethod);

    /// <summary>The problem with <paramref name="method"/> as <paramref name="input"/>, or null when the graph has it.</summary>
    public static string? MethodProblem(string input, string method) => Methods.Contains(method)
        ? null
        : $"{input} '{method}' is not supported: the UNet graph resizes by {string.Join(", ", Methods)}";

    private static long IndexOf(string method)
    {
        for (var i = 0; i < Methods.Count; i++)
        {
            if (Methods[i] == method) return i;
        }

        throw new ArgumentException(MethodProblem("method", method));
    }
}
