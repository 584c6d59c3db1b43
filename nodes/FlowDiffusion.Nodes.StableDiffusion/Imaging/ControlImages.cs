using FlowDiffusion.Imaging.Preprocessors.Annotators;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// Applies a control-image annotator to every item of a batch: a one-plane map (edges, a threshold) giving a grey RGB
/// image, or an 8-bit annotator (comfyui_controlnet_aux's: the item as truncated bytes in, bytes / 255 out).
/// </summary>
internal static class ControlImages
{
    /// <summary>Runs <paramref name="annotate"/> on each item's bytes; every item gives the same size, as every item has the same input size.</summary>
    public static Sdk.Values.Image PerItemBytes(Sdk.Values.Image image, Func<Rgb8Image, Rgb8Image> annotate, CancellationToken cancellationToken)
    {
        var results = new List<Rgb8Image>(image.Batch);
        for (var b = 0; b < image.Batch; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            results.Add(annotate(Rgb8Image.FromPlanar(image.PixelsOf(b), image.Height, image.Width)));
        }

        return Stack(results);
    }

    /// <summary>Annotated items of one size as a batch (bytes / 255).</summary>
    public static Sdk.Values.Image Stack(IReadOnlyList<Rgb8Image> items)
    {
        int height = items[0].Height, width = items[0].Width;
        var pixels = new float[items.Count * 3 * height * width];
        for (var b = 0; b < items.Count; b++) items[b].ToPlanar().CopyTo(pixels.AsSpan(b * 3 * height * width));
        return new Sdk.Values.Image(items.Count, height, width, pixels);
    }

    public static Sdk.Values.Image PerItem(Sdk.Values.Image image, Func<ReadOnlySpan<float>, float[]> map)
    {
        var plane = image.Height * image.Width;
        var pixels = new float[image.Batch * 3 * plane];
        for (var b = 0; b < image.Batch; b++)
        {
            var result = map(image.PixelsOf(b));
            for (var c = 0; c < 3; c++) result.CopyTo(pixels.AsSpan((b * 3 + c) * plane, plane));
        }

        return new Sdk.Values.Image(image.Batch, image.Height, image.Width, pixels);
    }
}
