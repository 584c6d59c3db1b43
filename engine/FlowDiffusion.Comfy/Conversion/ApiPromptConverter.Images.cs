using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's colour, morphology, compositing and layout image classes: ImageColorToMask, Morphology, ImageRGBToYUV,
/// ImageYUVToRGB, PorterDuffImageComposite, SplitImageWithAlpha, JoinImageWithAlpha, ImageStitch and ResizeAndPadImage.
/// </summary>
public sealed partial class ApiPromptConverter
{
    private static readonly string[] MorphologyOperations = ["erode", "dilate", "open", "close", "gradient", "bottom_hat", "top_hat"];

    private static readonly string[] PorterDuffModes =
        ["ADD", "CLEAR", "DARKEN", "DST", "DST_ATOP", "DST_IN", "DST_OUT", "DST_OVER", "LIGHTEN", "MULTIPLY", "OVERLAY", "SCREEN", "SRC", "SRC_ATOP", "SRC_IN", "SRC_OUT", "SRC_OVER", "XOR"];

    // ImageColorToMask → mask.from_color: 1 where the pixel's rounded 0xRRGGBB equals color.
    private ComfyValue[]? ImageColorToMask(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var color = Integer(id, inputs, "color", 0);
        if (image is null || color is null || !Within(id, "color", color.Value, 0, 0xFFFFFF)) return null;
        return [new MaskValue($"{Add(id, null, "mask.from_color", [("image", image.Image)], [("color", color.Value)])}.mask")];
    }

    // Morphology → image.morphology (kornia's flat square, geodesic border).
    private ComfyValue[]? Morphology(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var operation = Choice(id, inputs, "operation", "erode", MorphologyOperations);
        var size = Integer(id, inputs, "kernel_size", 3);
        if (image is null || operation is null || size is null || !Within(id, "kernel_size", size.Value, 3, 999)) return null;
        var node = Add(id, null, "image.morphology", [("image", image.Image)], [("operation", operation), ("kernel_size", size.Value)]);
        return [new ImageValue($"{node}.result")];
    }

    // ImageRGBToYUV → image.to_yuv: Y, U and V as grey images.
    private ComfyValue[]? ImageRgbToYuv(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        if (image is null) return null;
        var node = Add(id, null, "image.to_yuv", [("image", image.Image)], []);
        return [new ImageValue($"{node}.y"), new ImageValue($"{node}.u"), new ImageValue($"{node}.v")];
    }

    // ImageYUVToRGB → image.from_yuv (each input's channels averaged).
    private ComfyValue[]? ImageYuvToRgb(string id, JsonObject inputs)
    {
        var y = Link<ImageValue>(id, inputs, "Y");
        var u = Link<ImageValue>(id, inputs, "U");
        var v = Link<ImageValue>(id, inputs, "V");
        if (y is null || u is null || v is null) return null;
        return [new ImageValue($"{Add(id, null, "image.from_yuv", [("y", y.Image), ("u", u.Image), ("v", v.Image)], [])}.image")];
    }

    // PorterDuffImageComposite → image.porter_duff: the image and its mask (1 − alpha).
    private ComfyValue[]? PorterDuffComposite(string id, JsonObject inputs)
    {
        var source = Link<ImageValue>(id, inputs, "source");
        var sourceAlpha = Link<MaskValue>(id, inputs, "source_alpha");
        var destination = Link<ImageValue>(id, inputs, "destination");
        var destinationAlpha = Link<MaskValue>(id, inputs, "destination_alpha");
        var mode = Choice(id, inputs, "mode", "DST", PorterDuffModes);
        if (source is null || sourceAlpha is null || destination is null || destinationAlpha is null || mode is null) return null;
        var node = Add(id, null, "image.porter_duff",
            [("source", source.Image), ("source_alpha", sourceAlpha.Mask), ("destination", destination.Image), ("destination_alpha", destinationAlpha.Mask)], [("mode", mode)]);
        return [new ImageValue($"{node}.image"), new MaskValue($"{node}.alpha")];
    }

    // SplitImageWithAlpha: the colours and the mask JoinImageWithAlpha attached, or, for an image without alpha (all of
    // ours otherwise), image.alpha's opaque mask of 0s, as ComfyUI gives for a three-channel image.
    private ComfyValue[]? SplitImageWithAlpha(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image", keepsAlpha: true);
        if (image is null) return null;
        if (image.Alpha is not null) return [new ImageValue(image.Image), new MaskValue(image.Alpha)];
        var node = Add(id, null, "image.alpha", [("image", image.Image)], []);
        return [new ImageValue($"{node}.images"), new MaskValue($"{node}.mask")];
    }

    // JoinImageWithAlpha → image.alpha: images carry RGB only, so the alpha (as ComfyUI's mask, resized and batched as
    // JoinImageWithAlpha does) travels beside the image for a SplitImageWithAlpha downstream; other readers use the colours.
    private ComfyValue[]? JoinImageWithAlpha(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var alpha = Link<MaskValue>(id, inputs, "alpha");
        if (image is null || alpha is null) return null;
        var node = Add(id, null, "image.alpha", [("image", image.Image), ("alpha", alpha.Mask)], []);
        return [new ImageValue($"{node}.images", $"{node}.mask")];
    }

    // ImageStitch → image.stitch (image2 optional: without it image1 passes through).
    private ComfyValue[]? ImageStitch(string id, JsonObject inputs)
    {
        var first = Link<ImageValue>(id, inputs, "image1");
        var second = inputs["image2"] is null ? null : Link<ImageValue>(id, inputs, "image2");
        var direction = Choice(id, inputs, "direction", "right", ["right", "down", "left", "up"]);
        var match = Boolean(id, inputs, "match_image_size", true);
        var spacing = Integer(id, inputs, "spacing_width", 0);
        var colour = Choice(id, inputs, "spacing_color", "white", ["white", "black", "red", "green", "blue"]);
        if (first is null || (inputs["image2"] is not null && second is null) || direction is null || match is null || spacing is null || colour is null
            || !Within(id, "spacing_width", spacing.Value, 0, 1024))
            return null;
        var edges = new List<(string, string)> { ("image1", first.Image) };
        if (second is not null) edges.Add(("image2", second.Image));
        var node = Add(id, null, "image.stitch", edges,
            [("direction", direction), ("match_image_size", match.Value), ("spacing_width", spacing.Value), ("spacing_color", colour)]);
        return [new ImageValue($"{node}.stitched")];
    }

    // ResizeAndPadImage → image.resize_and_pad.
    private ComfyValue[]? ResizeAndPadImage(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var width = Integer(id, inputs, "target_width", 512);
        var height = Integer(id, inputs, "target_height", 512);
        var colour = Choice(id, inputs, "padding_color", "white", ["white", "black"]);
        var method = Choice(id, inputs, "interpolation", "area", ["area", "bicubic", "nearest-exact", "bilinear", "lanczos"]);
        if (image is null || width is null || height is null || colour is null || method is null
            || !Within(id, "target_width", width.Value, 1, 16384) | !Within(id, "target_height", height.Value, 1, 16384))
            return null;
        var node = Add(id, null, "image.resize_and_pad", [("image", image.Image)],
            [("target_width", width.Value), ("target_height", height.Value), ("padding_color", colour), ("interpolation", method)]);
        return [new ImageValue($"{node}.padded")];
    }
}
