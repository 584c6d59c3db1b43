using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Repeats an image batch, as ComfyUI's RepeatImageBatch.</summary>
[Node("image.repeat", "1.0.0", Category = "image", Title = "Repeat Image Batch",
    Description = "The whole batch repeated amount times, one after another (a batch of 2 repeated 3 times is 6: a, b, a, b, a, b), as ComfyUI's RepeatImageBatch; at most 64 images in all (ComfyUI allows amount up to 4096).")]
public sealed class ImageRepeatNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to repeat.")]
    public Image? Image { get; set; }

    /// <summary>How many copies.</summary>
    [Parameter(Description = "How many times the batch appears in the result.", Min = 1, Max = 64)]
    public int Amount { get; set; } = 1;

    /// <summary>The repeated batch.</summary>
    [Output(Description = "Amount × the batch.")]
    public Image? Repeated { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        if (Amount is < 1 or > 64) throw new ArgumentException($"amount must be 1 … 64; got {Amount}");
        if ((long)image.Batch * Amount > 64) throw new ArgumentException($"amount {Amount} of a batch of {image.Batch} would make {image.Batch * Amount} images; at most 64");
        var pixels = new float[image.Pixels.Length * Amount];
        for (var i = 0; i < Amount; i++) image.Pixels.CopyTo(pixels.AsSpan(i * image.Pixels.Length));
        Repeated = new Image(image.Batch * Amount, image.Height, image.Width, pixels);
        return Task.CompletedTask;
    }
}
