using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Control;

/// <summary>
/// A loaded T2I-Adapter, as the SDK's ControlNet handle (ComfyUI loads and applies both through the same nodes). Its
/// features depend on the control image alone, so they are computed once per image item and size and kept while the image is.
/// </summary>
internal sealed class T2IAdapterHandle(string name, T2IAdapterModel model) : IControlNet
{
    private readonly ConditionalWeakTable<Image, ConcurrentDictionary<(int Item, int Height, int Width), IReadOnlyList<ControlResidual>>> _features = [];

    public string Name => name;

    public T2IAdapterModel Model => model;

    /// <summary>
    /// The features of item <paramref name="item"/> of <paramref name="image"/> resized (nearest-exact, centre crop, as for a
    /// ControlNet) to <paramref name="height"/> × <paramref name="width"/>, averaged to grey for a one-channel adapter; batch 1.
    /// </summary>
    public IReadOnlyList<ControlResidual> Features(Image image, int item, int height, int width, CancellationToken cancellationToken) =>
        _features.GetOrCreateValue(image).GetOrAdd((item, height, width), key => Compute(image, key.Item, key.Height, key.Width, cancellationToken));

    public override string ToString() => name;

    private IReadOnlyList<ControlResidual> Compute(Image image, int item, int height, int width, CancellationToken cancellationToken)
    {
        var source = image.PixelsOf(item);
        var rgb = image.Height == height && image.Width == width
            ? source.ToArray()
            : PlanarResize.Resize(source, 3, image.Height, image.Width, height, width, "nearest-exact", centerCrop: true);
        var plane = height * width;
        var pixels = rgb;
        if (model.InputChannels == 1)
        {
            // ComfyUI feeds a one-channel adapter the mean of the three channels.
            pixels = new float[plane];
            for (var i = 0; i < plane; i++) pixels[i] = (rgb[i] + rgb[plane + i] + rgb[(2 * plane) + i]) / 3f;
        }

        return model.Predict(pixels, [1, model.InputChannels, height, width], cancellationToken);
    }
}
