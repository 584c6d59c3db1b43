using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>OpenCV's gaussian blur of the 8-bit image, as sd-webui-controlnet's blur_gaussian preprocessor runs it.</summary>
[Node("image.blur_gaussian", "1.0.0", Category = "image/preprocessors", Title = "Gaussian Blur (OpenCV)",
    Description = "cv2.GaussianBlur(image, (0, 0), sigma) of the 8-bit image, exactly (OpenCV's fixed-point path: round(6σ + 1) | 1 taps, reflect-101 borders), as sd-webui-controlnet's blur_gaussian: with a resolution the image is first scaled so its short side is that (INTER_CUBIC up, INTER_AREA down); 0 keeps its size. Unlike image.blur (ComfyUI's ImageBlur), sigma is in pixels.")]
public sealed class ImageBlurGaussianNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to blur.")]
    public Image? Image { get; set; }

    /// <summary>The gaussian's width.</summary>
    [Parameter(Description = "The gaussian's sigma in pixels (the extension's slider: 0.01 … 64).", Min = 0.01, Max = 64, Step = 0.01)]
    public double Sigma { get; set; } = 9;

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the image is scaled to first (the extension's resolution); 0 blurs it at its own size.", Min = 0, Max = 16384, Step = 64)]
    public int Resolution { get; set; }

    /// <summary>The blurred images.</summary>
    [Output(Description = "The blurred images.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        if (!(Sigma is >= 0.01 and <= 64)) throw new ArgumentException($"sigma must be 0.01 … 64; got {Sigma}");
        if (Resolution < 0) throw new ArgumentException($"resolution must be 0 (the image's size) or more; got {Resolution}");
        if (Resolution > 0) AnnotatorResolution.Check(context, image, Resolution);
        Result = ControlImages.PerItemBytes(image, item =>
        {
            if (Resolution > 0)
            {
                var (padded, height, width) = AnnotatorInput.ResizeWithPad(item, Resolution);
                item = padded.Crop(height, width);
            }

            return OpenCvGaussianBlur.Blur8Bit(item, Sigma, cancellationToken);
        }, cancellationToken);
        return Task.CompletedTask;
    }
}
