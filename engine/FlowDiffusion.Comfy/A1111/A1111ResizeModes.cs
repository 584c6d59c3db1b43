using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// A1111's <c>images.resize_image</c> as ComfyUI nodes: 0 just resize (stretched, Lanczos); 1 crop and resize (scaled to
/// cover the size, its centre kept); 2 resize and fill (scaled to fit, centred, the bars filled by stretching the edge row
/// or column). Mode 3's image is not resized here (its latent is, <see cref="A1111Prompt"/>); its mask goes through mode 2's
/// branch, as in A1111.
/// </summary>
public static class A1111ResizeModes
{
    /// <summary>The size A1111 scales an image to before cropping (mode 1) or filling (2, 3); mode 0 the size itself.</summary>
    public static (int Width, int Height) Scaled(int mode, int fromWidth, int fromHeight, int width, int height)
    {
        double ratio = (double)width / height, source = (double)fromWidth / fromHeight;
        return mode switch
        {
            0 => (width, height),
            1 => (ratio > source ? width : fromWidth * height / fromHeight, ratio <= source ? height : fromHeight * width / fromWidth),
            _ => (ratio < source ? width : fromWidth * height / fromHeight, ratio >= source ? height : fromHeight * width / fromWidth),
        };
    }

    /// <summary>
    /// Adds the nodes that bring <paramref name="image"/> (<paramref name="fromWidth"/> × <paramref name="fromHeight"/>) to
    /// <paramref name="width"/> × <paramref name="height"/> with a resize mode, their ids starting with <paramref name="prefix"/>;
    /// returns the resized image's link (the image itself when nothing changes).
    /// </summary>
    public static JsonArray Add(JsonObject prompt, string prefix, JsonArray image, int mode, int fromWidth, int fromHeight, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var (scaledWidth, scaledHeight) = Scaled(mode, fromWidth, fromHeight, width, height);
        var scaled = image;
        if (scaledWidth != fromWidth || scaledHeight != fromHeight)
        {
            prompt[prefix] = Node("ImageScale", new JsonObject
            {
                ["image"] = image, ["upscale_method"] = "lanczos", ["width"] = scaledWidth, ["height"] = scaledHeight, ["crop"] = "disabled",
            });
            scaled = [prefix, 0];
        }

        if (scaledWidth == width && scaledHeight == height) return scaled;
        // Pasted at (width / 2 − scaled width / 2, …), as A1111 pastes: a negative offset crops (mode 1), a positive one leaves bars.
        int left = width / 2 - scaledWidth / 2, top = height / 2 - scaledHeight / 2;
        if (mode == 1)
        {
            prompt[prefix + "_crop"] = Node("ImageCrop", new JsonObject { ["image"] = scaled, ["width"] = width, ["height"] = height, ["x"] = -left, ["y"] = -top });
            return [prefix + "_crop", 0];
        }

        prompt[prefix + "_pad"] = Node("ImagePadForOutpaint", new JsonObject
        {
            ["image"] = scaled, ["left"] = left, ["top"] = top, ["right"] = width - scaledWidth - left, ["bottom"] = height - scaledHeight - top, ["feathering"] = 0,
        });
        JsonArray canvas = [prefix + "_pad", 0];
        // The bars: the first and last row (or column) stretched over them; the far bar is cut at the edge, as Pillow's paste cuts it.
        var rows = scaledWidth == width;
        var bar = rows ? top : left;
        if (bar <= 0) return canvas;
        foreach (var (side, edge, at) in new[] { ("first", 0, 0), ("last", (rows ? scaledHeight : scaledWidth) - 1, bar + (rows ? scaledHeight : scaledWidth)) })
        {
            prompt[$"{prefix}_{side}"] = Node("ImageCrop", new JsonObject
            {
                ["image"] = scaled.DeepClone(), ["width"] = rows ? width : 1, ["height"] = rows ? 1 : height, ["x"] = rows ? 0 : edge, ["y"] = rows ? edge : 0,
            });
            prompt[$"{prefix}_{side}_bar"] = Node("ImageScale", new JsonObject
            {
                ["image"] = new JsonArray($"{prefix}_{side}", 0), ["upscale_method"] = "nearest-exact",
                ["width"] = rows ? width : bar, ["height"] = rows ? bar : height, ["crop"] = "disabled",
            });
            prompt[$"{prefix}_{side}_fill"] = Node("ImageCompositeMasked", new JsonObject
            {
                ["destination"] = canvas, ["source"] = new JsonArray($"{prefix}_{side}_bar", 0), ["x"] = rows ? 0 : at, ["y"] = rows ? at : 0, ["resize_source"] = false,
            });
            canvas = [$"{prefix}_{side}_fill", 0];
        }

        return canvas;
    }

    private static JsonObject Node(string classType, JsonObject inputs) => new() { ["class_type"] = classType, ["inputs"] = inputs };
}
