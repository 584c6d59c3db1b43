using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>The size check for the annotators that scale the image to a detect resolution and pad it to multiples of 64 (or of <c>multiple</c>).</summary>
internal static class AnnotatorResolution
{
    /// <exception cref="ArgumentException">The padded image would pass the pixel limit; names the resolution.</exception>
    public static void Check(INodeContext context, Sdk.Values.Image image, int resolution, int multiple = 64)
    {
        var (height, width) = AnnotatorInput.ScaledSize(image.Height, image.Width, resolution);
        ProducedImageSize.Check(context, "resolution", (width + multiple - 1L) / multiple * multiple, (height + multiple - 1L) / multiple * multiple);
    }
}
