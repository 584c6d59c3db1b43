using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>
/// Hands every image of the batch, full size, to the run's event stream and writes no file (ComfyUI's
/// SaveImageWebsocket): API clients receive the pictures over their socket instead of fetching files.
/// </summary>
[Node("image.send", "1.0.0", Category = "image", Title = "Send Image", IsOutput = true, Deterministic = false,
    Description = "Sends every image of the batch, full size, to the run's event stream as preview events (one per image, in batch order, each after a progress event: image i of n), and writes no file, as ComfyUI's SaveImageWebsocket. The editor shows the last one on the node; the ComfyUI socket delivers each as a PNG frame. It runs on every run, so a client gets its images again when the rest of the graph comes from the cache.")]
public sealed class ImageSendNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to send.")]
    public Image? Images { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var images = Images!;
        for (var i = 0; i < images.Batch; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // The progress names the image that follows, so a client can tell which item of the batch a frame is.
            context.ReportProgress(NodeProgress.OfSteps(i + 1, images.Batch));
            context.ReportPreview(images.Batch == 1 ? images : images.Item(i));
        }

        return Task.CompletedTask;
    }
}
