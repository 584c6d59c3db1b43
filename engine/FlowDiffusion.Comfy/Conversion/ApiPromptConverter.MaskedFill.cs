using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// A1111MaskedFill, FlowDiffusion's own class (ComfyUI has none): A1111's inpainting "fill" (<c>masking.fill</c>), which the
/// A1111 layer's prompts use for <c>inpainting_fill</c> 0, 2 and 3, so they stay prompts a client can post to /prompt.
/// </summary>
public sealed partial class ApiPromptConverter
{
    /// <summary>The class name of A1111's masked fill.</summary>
    public const string A1111MaskedFillClass = "A1111MaskedFill";

    // A1111MaskedFill → image.masked_fill (the image and mask must have one size; the node says so at run time).
    private ComfyValue[]? A1111MaskedFill(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var mask = Link<MaskValue>(id, inputs, "mask");
        if (image is null || mask is null) return null;
        var node = Add(id, null, "image.masked_fill", [("image", image.Image), ("mask", mask.Mask)], []);
        return [new ImageValue($"{node}.filled")];
    }
}
