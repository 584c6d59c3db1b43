using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Api;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Imaging;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// A1111's extras (<c>/sdapi/v1/extra-single-image</c>, <c>/extra-batch-images</c>): each image upscaled by
/// <c>upscaler_1</c> (and blended with <c>upscaler_2</c>'s at <c>extras_upscaler_2_visibility</c>) as A1111's
/// postprocessing Upscale script does, as one ComfyUI prompt through the queue (LoadImage, the upscalers' nodes,
/// ImageCrop, ImageBlend, PreviewImage), so limits, history and interrupt apply as to any prompt.
/// </summary>
public static class A1111Extras
{
    /// <summary>The most images of one batch request.</summary>
    public const int MaxImages = 64;

    /// <summary>Runs a single-image (<paramref name="batch"/> false) or batch request; returns A1111's answer.</summary>
    public static async Task<JsonObject> RunAsync(JsonNode? body, bool batch, A1111Jobs jobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        if (body is not JsonObject json) throw new A1111RequestException(422, "body", "the body must be a JSON object of A1111's extras fields");
        var mode = (int)Integer(json, "resize_mode", 0, 0, 1);
        Flag(json, "show_extras_results", true); // A1111 reads it for a folder of images only, which the API has not
        Flag(json, "upscale_first", false); // A1111 1.10 no longer reads it
        foreach (var field in new[] { "gfpgan_visibility", "codeformer_visibility" })
        {
            if (Number(json, field, 0, 0, 1) != 0) throw new A1111RequestException(422, field, "face restoration (GFPGAN, CodeFormer) is not supported: leave it at 0");
        }

        Number(json, "codeformer_weight", 0, 0, 1);
        var by = Number(json, "upscaling_resize", 2, 1, 8);
        var toWidth = (int)Integer(json, "upscaling_resize_w", 512, 1, A1111Request.MaxSize * 4);
        var toHeight = (int)Integer(json, "upscaling_resize_h", 512, 1, A1111Request.MaxSize * 4);
        var crop = Flag(json, "upscaling_crop", true);
        var name1 = Text(json, "upscaler_1", "None");
        var name2 = Text(json, "upscaler_2", "None");
        var visibility = Number(json, "extras_upscaler_2_visibility", 0, 0, 1);
        var first = name1 == "None" ? null : A1111Upscalers.Resolve(jobs.Folders, name1, "upscaler_1");
        var second = name2 == "None" ? null : A1111Upscalers.Resolve(jobs.Folders, name2, "upscaler_2");
        if (visibility == 0) second = null;

        var inputs = new List<(string Field, byte[] Bytes)>();
        if (batch)
        {
            if (json["imageList"] is not JsonArray list) throw new A1111RequestException(422, "imageList", "must be a list of {data, name} (base64 images)");
            if (list.Count > MaxImages) throw new A1111RequestException(422, "imageList", $"{list.Count} images: at most {MaxImages} a request");
            for (var i = 0; i < list.Count; i++)
            {
                var field = $"imageList[{i}]";
                if (list[i] is not JsonObject file) throw new A1111RequestException(422, field, "must be an object {data, name}");
                Text(file, "name", null, field + ".");
                inputs.Add((field + ".data", A1111Jobs.Base64(Text(file, "data", null, field + "."), field + ".data")));
            }
        }
        else
        {
            inputs.Add(("image", A1111Jobs.Base64(Text(json, "image", ""), "image")));
        }

        // A model's scale is measured (once per file) for A1111's repeated passes.
        if (first is not null) first = await jobs.ResolveUpscalerAsync(first.Name, "upscaler_1", cancellationToken);
        if (second is not null) second = await jobs.ResolveUpscalerAsync(second.Name, "upscaler_2", cancellationToken);
        var prompt = new JsonObject();
        var infotexts = new List<string>();
        var existing = new List<Dictionary<string, string>>();
        var limits = jobs.ImageLimits;
        for (var i = 0; i < inputs.Count; i++)
        {
            var (field, bytes) = inputs[i];
            var (name, width, height) = jobs.SaveImage(bytes, field, dropAlpha: true);
            existing.Add(PngTextChunks.IsPng(bytes) ? PngTextChunks.Read(bytes) : []);
            prompt[$"load_{i}"] = Node("LoadImage", new JsonObject { ["image"] = name });
            JsonArray image = [$"load_{i}", 0];
            var info = new List<(string Key, string Value)>();
            if (first is not null)
            {
                // Upscale to: by the larger ratio, then crop (or pad) to the size about the centre, as A1111's crop to fit.
                var scale = mode == 1 ? Math.Max(toWidth / (double)width, toHeight / (double)height) : by;
                info.Add(mode == 1 ? ("Postprocess upscale to", $"{toWidth}x{toHeight}") : ("Postprocess upscale by", ApiPromptConverter.PythonFloat(by)));
                if (mode == 1 && crop) info.Add(("Postprocess crop to", $"{toWidth}x{toHeight}"));
                info.Add(("Postprocess upscaler", first.Name));
                var sizeField = mode == 1 ? "upscaling_resize_w" : "upscaling_resize";
                image = Upscale(prompt, $"up1_{i}", image, width, height, scale, first, mode == 1 && crop ? (toWidth, toHeight) : null, sizeField, limits);
                if (second is not null)
                {
                    var other = Upscale(prompt, $"up2_{i}", [$"load_{i}", 0], width, height, scale, second, mode == 1 && crop ? (toWidth, toHeight) : null, sizeField, limits);
                    prompt[$"blend_{i}"] = Node("ImageBlend", new JsonObject
                    {
                        ["image1"] = image, ["image2"] = other, ["blend_factor"] = visibility, ["blend_mode"] = "normal",
                    });
                    image = [$"blend_{i}", 0];
                    info.Add(("Postprocess upscaler 2", second.Name));
                }
            }

            prompt[A1111Prompt.SaveId(i)] = Node("PreviewImage", new JsonObject { ["images"] = image });
            infotexts.Add(string.Join(", ", info.Select(p => $"{p.Key}: {A1111Infotext.Quote(p.Value)}")));
        }

        var html = $"<p>{string.Join("<br>\n", (infotexts.LastOrDefault() ?? "").Split('\n').Select(Escape))}</p>";
        if (inputs.Count == 0) return new JsonObject { ["html_info"] = html, ["images"] = new JsonArray() };
        var queued = await jobs.QueueAsync(prompt, FieldFor, cancellationToken);
        // /sdapi/v1/progress reports it as the running job, images done over images, as A1111's extras job.
        await jobs.FollowAsync(queued, inputs.Count, 0, cancellationToken);
        var images = new JsonArray();
        for (var i = 0; i < inputs.Count; i++)
        {
            // An interrupted batch answers with the images finished before it.
            if (await jobs.OutputPngAsync(queued, A1111Prompt.SaveId(i), cancellationToken) is not { } output) continue;
            images.Add(Convert.ToBase64String(Png(output, existing[i], infotexts[i], limits)));
        }

        if (batch) return new JsonObject { ["html_info"] = html, ["images"] = images };
        if (images.Count == 0) throw new A1111RunFailedException("the run was interrupted before the image was finished");
        return new JsonObject { ["html_info"] = html, ["image"] = images[0]!.DeepClone() };
    }

    // Upscaler.upscale, then crop to fit: the image placed with its centre on the size's (Pillow's paste at
    // size/2 − image/2), cut where it overhangs and black where it falls short.
    private static JsonArray Upscale(JsonObject prompt, string id, JsonArray image, int width, int height, double scale, A1111Upscaler upscaler,
        (int Width, int Height)? fit, string sizeField, ImageLimits limits)
    {
        // Every image of the way: Lanczos's or Nearest's, each model pass's (when its scale is known), the target, the crop.
        IEnumerable<(long, long)> sizes = [
            upscaler.ModelFile is null ? ((long)(width * scale), (long)(height * scale)) : (0, 0),
            .. A1111Upscalers.Passes(width, height, scale, upscaler),
            ((long)Math.Floor(width * scale / 8) * 8, (long)Math.Floor(height * scale / 8) * 8),
            fit is { } f ? (f.Width, f.Height) : (0L, 0L)];
        foreach (var (w, h) in sizes)
        {
            if (w > limits.MaxDimension || h > limits.MaxDimension || w * h > limits.MaxPixels)
                throw new A1111RequestException(422, sizeField, $"upscaling {width}x{height} gives {w}x{h}, over the image limits ({limits.MaxDimension} a side, {limits.MaxPixels} pixels)");
        }

        var (upscaled, upWidth, upHeight) = A1111Upscalers.Upscale(prompt, id, image, width, height, scale, upscaler);
        if (upWidth < 1 || upHeight < 1)
            throw new A1111RequestException(422, sizeField, $"upscaling {width}x{height} gives {upWidth}x{upHeight} (A1111 rounds each side down to a multiple of 8)");
        if (fit is not { } size || (upWidth, upHeight) == size) return upscaled;
        int x = size.Width / 2 - upWidth / 2, y = size.Height / 2 - upHeight / 2;
        var (cutWidth, cutHeight) = (Math.Min(upWidth, size.Width), Math.Min(upHeight, size.Height));
        if ((cutWidth, cutHeight) != (upWidth, upHeight))
        {
            prompt[id + "_crop"] = Node("ImageCrop", new JsonObject
            {
                ["image"] = upscaled, ["width"] = cutWidth, ["height"] = cutHeight, ["x"] = Math.Max(0, -x), ["y"] = Math.Max(0, -y),
            });
            upscaled = [id + "_crop", 0];
        }

        if ((cutWidth, cutHeight) == size) return upscaled;
        prompt[id + "_canvas"] = Node("EmptyImage", new JsonObject { ["width"] = size.Width, ["height"] = size.Height, ["batch_size"] = 1, ["color"] = 0 });
        prompt[id + "_paste"] = Node("ImageCompositeMasked", new JsonObject
        {
            ["destination"] = new JsonArray(id + "_canvas", 0), ["source"] = upscaled, ["x"] = Math.Max(0, x), ["y"] = Math.Max(0, y), ["resize_source"] = false,
        });
        return [id + "_paste", 0];
    }

    // The answer's PNG: the pixels with the input's text chunks and the postprocessing infotext, as A1111's encoder
    // writes the image's info (and none of the run's own chunks).
    private static byte[] Png(byte[] output, Dictionary<string, string> existing, string infotext, ImageLimits limits)
    {
        // The run's own output may be larger than an upload may be.
        using var pixels = RgbaPixels.Decode(output, "output", limits: limits with { MaxFileBytes = Math.Max(limits.MaxFileBytes, output.Length) });
        var png = PreviewPng.EncodeRgba(pixels.Bytes.AsSpan(0, 4 * pixels.Width * pixels.Height), pixels.Width, pixels.Height);
        foreach (var (keyword, text) in existing.Where(e => e.Key != "postprocessing").Reverse()) png = PreviewPng.WithText(png, keyword, text);
        return PreviewPng.WithText(png, "postprocessing", infotext);
    }

    private static string FieldFor(string comfyId, string? input) =>
        comfyId.StartsWith("up1_", StringComparison.Ordinal) ? "upscaler_1"
        : comfyId.StartsWith("up2_", StringComparison.Ordinal) ? "upscaler_2"
        : comfyId.StartsWith("blend_", StringComparison.Ordinal) ? "extras_upscaler_2_visibility"
        : "image";

    // Python's html.escape.
    private static string Escape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal)
            .Replace("\"", "&quot;", StringComparison.Ordinal).Replace("'", "&#x27;", StringComparison.Ordinal);

    private static JsonObject Node(string classType, JsonObject inputs) => new() { ["class_type"] = classType, ["inputs"] = inputs };

    private static string Text(JsonObject json, string field, string? fallback, string prefix = "") =>
        A1111Fields.Text(json[field], prefix + field) ?? fallback ?? throw new A1111RequestException(422, prefix + field, "is required");

    private static double Number(JsonObject json, string field, double fallback, double min, double max) => A1111Fields.Number(json[field], field, min, max) ?? fallback;

    private static long Integer(JsonObject json, string field, long fallback, long min, long max) => A1111Fields.Integer(json[field], field, min, max) ?? fallback;

    private static bool Flag(JsonObject json, string field, bool fallback) => A1111Fields.Flag(json[field], field) ?? fallback;
}
