using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

// SaveImageWebsocket (ComfyUI's custom_nodes/websocket_image_save.py): the images go to the client's socket, not to disk.
public sealed partial class ApiPromptConverter
{
    /// <summary>The class whose images the socket delivers as binary frames (and that reports no <c>executed</c> output).</summary>
    public const string SaveImageWebsocketClass = "SaveImageWebsocket";

    // → image.send, which hands each image to the run's events; ComfyPrompts turns those into PNG frames. No output type is
    // recorded: ComfyUI's node returns no UI output, so it gets no executed message and no history outputs.
    private ComfyValue[]? SaveImageWebsocket(string id, JsonObject inputs)
    {
        var images = Link<ImageValue>(id, inputs, "images");
        if (images is null) return null;
        Add(id, null, "image.send", [("images", images.Image)], []);
        return [];
    }
}
