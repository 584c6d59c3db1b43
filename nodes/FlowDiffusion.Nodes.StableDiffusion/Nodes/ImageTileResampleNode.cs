using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>comfyui_controlnet_aux's tile preprocessor: a blurred copy for tile ControlNets.</summary>
[Node("image.tile_resample", "1.0.0", Category = "image/preprocessors", Title = "Tile Resample",
    Description = "comfyui_controlnet_aux's TilePreprocessor, exactly: the 8-bit image with its sides rounded to multiples of 64, shrunk with OpenCV's INTER_AREA by 2^iterations and enlarged back by as many cv2.pyrUp steps. The result has the rounded size.")]
public sealed class ImageTileResampleNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to blur.")]
    public Image? Image { get; set; }

    /// <summary>The halvings.</summary>
    [Parameter(Description = "How many times the image is halved and restored by pyrUp (aux's pyrUp_iters): more is blurrier.", Min = 1, Max = 10, Step = 1)]
    public int Iterations { get; set; } = 3;

    /// <summary>The blurred images.</summary>
    [Output(Description = "The blurred images, their sides rounded to multiples of 64.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        var (height, width) = TileResample.ResultSize(image.Height, image.Width, Iterations);
        ProducedImageSize.Check(context, "image.tile_resample", width, height);
        Result = ControlImages.PerItemBytes(image, item => TileResample.Apply(item, Iterations), cancellationToken);
        return Task.CompletedTask;
    }
}
