using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Blends two images with a blend mode, as ComfyUI's ImageBlend.</summary>
[Node("image.blend", "1.0.0", Category = "image/postprocessing", Title = "Blend Images",
    Description = "image1 · (1 − blend_factor) + mode(image1, image2) · blend_factor, clamped to 0 … 1, as ComfyUI's ImageBlend. Modes (a = image1, b = image2): normal b; multiply a·b; screen 1 − (1 − a)(1 − b); overlay 2ab where a ≤ 0.5, else 1 − 2(1 − a)(1 − b); soft_light a − (1 − 2b)·a·(1 − a) where b ≤ 0.5, else a + (2b − 1)(g(a) − a) with g(a) = ((16a − 12)a + 4)a for a ≤ 0.25 and √a above (the W3C soft light, image2 the source); difference a − b, signed as ComfyUI has it, so where b is brighter the clamp gives 0. image2 is first resized to image1's size (bicubic, centre-cropped to its aspect) when it differs. A batch of one serves every image of the other; other batches must match, and the result may hold no more pixels than the larger input.")]
public sealed class ImageBlendNode : INode
{
    /// <summary>The base images.</summary>
    [Input(Description = "The base images; the result has their size.")]
    public Image? Image1 { get; set; }

    /// <summary>The blended images.</summary>
    [Input(Description = "The images blended onto image1, resized to its size when it differs.")]
    public Image? Image2 { get; set; }

    /// <summary>How much of the blend.</summary>
    [Parameter(Description = "0 keeps image1, 1 gives the blend mode's result.", Min = 0, Max = 1, Step = 0.01)]
    public double BlendFactor { get; set; } = 0.5;

    /// <summary>The blend mode.</summary>
    [Parameter(Description = "normal, multiply, screen, overlay, soft_light or difference (image1 − image2).", Choices = ["normal", "multiply", "screen", "overlay", "soft_light", "difference"])]
    public string BlendMode { get; set; } = "normal";

    /// <summary>The result.</summary>
    [Output(Description = "The blended images.")]
    public Image? Blended { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Image first = Image1!, second = Image2!;
        if (!(BlendFactor is >= 0 and <= 1)) throw new ArgumentException($"blend_factor must be 0 … 1; got {BlendFactor}");
        Func<float, float, float> mode = BlendMode switch
        {
            "normal" => static (_, b) => b,
            "multiply" => static (a, b) => a * b,
            "screen" => static (a, b) => 1 - (1 - a) * (1 - b),
            "overlay" => static (a, b) => a <= 0.5f ? 2 * a * b : 1 - 2 * (1 - a) * (1 - b),
            "soft_light" => static (a, b) => b <= 0.5f ? a - (1 - 2 * b) * a * (1 - a) : a + (2 * b - 1) * (SoftLightCurve(a) - a),
            "difference" => static (a, b) => a - b,
            _ => throw new ArgumentException($"blend_mode must be normal, multiply, screen, overlay, soft_light or difference; got '{BlendMode}'"),
        };
        if (first.Batch != second.Batch && first.Batch != 1 && second.Batch != 1)
            throw new ArgumentException($"image1 has {first.Batch} images but image2 {second.Batch}; they must match, or one be a single image");
        var batch = Math.Max(first.Batch, second.Batch);
        long item = 3L * first.Height * first.Width;
        if (batch * item > Math.Max(first.Batch * item, 3L * second.Batch * second.Height * second.Width))
            throw new ArgumentException($"image2's {second.Batch} images would make {batch} of image1's {first.Width}×{first.Height}, more pixels than either input holds; blend a batch of image1 instead");

        var other = second.Height == first.Height && second.Width == first.Width
            ? second.Pixels
            : PlanarResize.Resize(second.Pixels, second.Batch * 3, second.Height, second.Width, first.Height, first.Width, "bicubic", centerCrop: true);
        // torch multiplies by the Python floats 1 − blend_factor and blend_factor, each made float32.
        float keep = (float)(1 - BlendFactor), factor = (float)BlendFactor;
        var pixels = new float[batch * item];
        for (var b = 0; b < batch; b++)
        {
            var a = first.Pixels.Slice((int)((first.Batch == 1 ? 0 : b) * item), (int)item);
            var o = other.Slice((int)((second.Batch == 1 ? 0 : b) * item), (int)item);
            var result = pixels.AsSpan((int)(b * item), (int)item);
            for (var i = 0; i < result.Length; i++) result[i] = Math.Clamp(a[i] * keep + mode(a[i], o[i]) * factor, 0f, 1f);
        }

        Blended = new Image(batch, first.Height, first.Width, pixels);
        return Task.CompletedTask;
    }

    // The W3C soft-light curve ComfyUI calls g.
    private static float SoftLightCurve(float x) => x <= 0.25f ? ((16 * x - 12) * x + 4) * x : MathF.Sqrt(x);
}
