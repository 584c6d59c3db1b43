namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>Applies a one-plane control-image map (edges, a threshold) to every item of a batch, giving a grey RGB image.</summary>
internal static class ControlImages
{
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
