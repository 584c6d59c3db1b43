using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's batch classes: LatentFromBatch, LatentBatch, ImageBatch, ImageFromBatch, RepeatImageBatch, and EmptyImage.
/// Latent noise indices (ComfyUI's batch_index) travel with our latents, so the converter only wires the nodes.
/// </summary>
public sealed partial class ApiPromptConverter
{
    // LatentFromBatch → latent.from_batch; a noise mask of the batch is cut by mask.from_batch, as ComfyUI cuts it.
    private ComfyValue[]? LatentFromBatch(string id, JsonObject inputs)
    {
        var samples = Link<LatentValue>(id, inputs, "samples");
        var index = Integer(id, inputs, "batch_index", 0);
        var length = Integer(id, inputs, "length", 1);
        if (samples is null || index is null || length is null || !Within(id, "batch_index", index.Value, 0, 63) | !Within(id, "length", length.Value, 1, 64))
            return null;
        var node = Add(id, null, "latent.from_batch", [("latent", samples.Latent)], [("batch_index", index.Value), ("length", length.Value)]);
        var mask = samples.Mask is null ? null
            : Add(id, "mask", "mask.from_batch", [("mask", samples.Mask), ("latent", samples.Latent)], [("batch_index", index.Value), ("length", length.Value)]);
        return [new LatentValue($"{node}.items", mask is null ? null : $"{mask}.items")];
    }

    // LatentBatch → latent.batch; the result keeps samples1's noise mask (ComfyUI copies samples1's dictionary).
    private ComfyValue[]? LatentBatch(string id, JsonObject inputs)
    {
        var first = Link<LatentValue>(id, inputs, "samples1");
        var second = Link<LatentValue>(id, inputs, "samples2");
        if (first is null || second is null) return null;
        var node = Add(id, null, "latent.batch", [("samples1", first.Latent), ("samples2", second.Latent)], []);
        return [first with { Latent = $"{node}.batched" }];
    }

    // ImageBatch → image.batch.
    private ComfyValue[]? ImageBatch(string id, JsonObject inputs)
    {
        var first = Link<ImageValue>(id, inputs, "image1");
        var second = Link<ImageValue>(id, inputs, "image2");
        if (first is null || second is null) return null;
        return [new ImageValue($"{Add(id, null, "image.batch", [("image1", first.Image), ("image2", second.Image)], [])}.batched")];
    }

    // ImageFromBatch → image.from_batch.
    private ComfyValue[]? ImageFromBatch(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var index = Integer(id, inputs, "batch_index", 0);
        var length = Integer(id, inputs, "length", 1);
        if (image is null || index is null || length is null || !Within(id, "batch_index", index.Value, 0, 4095) | !Within(id, "length", length.Value, 1, 4096))
            return null;
        var node = Add(id, null, "image.from_batch", [("image", image.Image)], [("batch_index", index.Value), ("length", length.Value)]);
        return [new ImageValue($"{node}.images")];
    }

    // RepeatImageBatch → image.repeat (at most 64 images, where ComfyUI allows amount up to 4096).
    private ComfyValue[]? RepeatImage(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var amount = Integer(id, inputs, "amount", 1);
        if (image is null || amount is null || !Within(id, "amount", amount.Value, 1, 64)) return null;
        return [new ImageValue($"{Add(id, null, "image.repeat", [("image", image.Image)], [("amount", amount.Value)])}.repeated")];
    }

    // EmptyImage → image.empty: color is 0xRRGGBB as an integer (at most 64 images, where ComfyUI allows 4096).
    private ComfyValue[]? EmptyImage(string id, JsonObject inputs)
    {
        var width = Integer(id, inputs, "width", 512);
        var height = Integer(id, inputs, "height", 512);
        var batch = Integer(id, inputs, "batch_size", 1);
        var color = Integer(id, inputs, "color", 0);
        if (width is null || height is null || batch is null || color is null) return null;
        if (!Within(id, "width", width.Value, 1, 16384) | !Within(id, "height", height.Value, 1, 16384) | !Within(id, "batch_size", batch.Value, 1, 64)
            | !Within(id, "color", color.Value, 0, 0xFFFFFF))
            return null;
        var node = Add(id, null, "image.empty", [], [("width", width.Value), ("height", height.Value), ("batch", batch.Value), ("color", color.Value)]);
        return [new ImageValue($"{node}.image")];
    }
}
