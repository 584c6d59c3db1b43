using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace MyNodes;

/// <summary>Scales an image's brightness: a node with an input, a parameter, an output and progress.</summary>
[Node("mynodes.brightness", "1.0.0", Category = "image", Title = "Brightness",
    Description = "Multiplies every pixel by a factor and clamps to 0..1.")]
public sealed class BrightnessNode : INode
{
    /// <summary>The image to change.</summary>
    [Input(Description = "The image to change.")]
    public Image? Image { get; set; }

    /// <summary>The factor.</summary>
    [Parameter(Description = "1 keeps the image; below 1 darkens, above 1 brightens.", Min = 0, Max = 4, Step = 0.05)]
    public double Factor { get; set; } = 1.2;

    /// <summary>The result.</summary>
    [Output(Description = "The changed image.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        // Inputs are shared with other nodes: write into a copy.
        var pixels = image.ToArray();
        var perItem = pixels.Length / image.Batch;
        for (var item = 0; item < image.Batch; item++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var span = pixels.AsSpan(item * perItem, perItem);
            for (var i = 0; i < span.Length; i++) span[i] = Math.Clamp(span[i] * (float)Factor, 0f, 1f);
            context.ReportProgress(NodeProgress.OfSteps(item + 1, image.Batch));
        }
        Result = new Image(image.Batch, image.Height, image.Width, pixels);
        return Task.CompletedTask;
    }
}
