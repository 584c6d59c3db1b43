using System.Globalization;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// The size check for images a node makes larger (resize, pad, model upscale): the same pixel limit an image file may
/// declare (<see cref="InputLimits.MaxImagePixels"/>, FlowDiffusion:MaxImagePixels), checked before the result is
/// allocated, so no parameter turns a small input into an unbounded buffer.
/// </summary>
internal static class ProducedImageSize
{
    /// <exception cref="ArgumentException">The result would have more pixels than the limit; names <paramref name="what"/>.</exception>
    public static void Check(INodeContext context, string what, long width, long height)
    {
        var limit = context.Limits.MaxImagePixels;
        if (width * height > limit)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{what}: the result would be {width}×{height} = {width * height:N0} pixels, more than the {limit:N0} FlowDiffusion:MaxImagePixels allows"));
        }
    }
}
