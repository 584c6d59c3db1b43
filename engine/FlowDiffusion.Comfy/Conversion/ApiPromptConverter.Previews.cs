using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's preview output nodes beyond PreviewImage: MaskPreview (comfy_extras/nodes_mask.py) shows a MASK as a grey
/// image saved to the temp folder, as PreviewImage saves its images.
/// </summary>
public sealed partial class ApiPromptConverter
{
    // MaskPreview → image.from_mask (the mask in all three channels, as ComfyUI's preview expands it) → PreviewImage's image.save.
    private ComfyValue[]? MaskPreview(string id, JsonObject inputs)
    {
        var mask = Link<MaskValue>(id, inputs, "mask");
        if (mask is null) return null;
        var image = Add(id, "image", "image.from_mask", [("mask", mask.Mask)], []);
        return SaveImages(id, $"{image}.image", "temp", "ComfyUI_temp");
    }
}
