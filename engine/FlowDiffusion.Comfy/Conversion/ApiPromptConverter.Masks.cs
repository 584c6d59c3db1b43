using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>ComfyUI's MaskComposite, CropMask and FeatherMask.</summary>
public sealed partial class ApiPromptConverter
{
    private static readonly string[] MaskOperations = ["multiply", "add", "subtract", "and", "or", "xor"];

    // MaskComposite → mask.composite.
    private ComfyValue[]? MaskComposite(string id, JsonObject inputs)
    {
        var destination = Link<MaskValue>(id, inputs, "destination");
        var source = Link<MaskValue>(id, inputs, "source");
        var x = Integer(id, inputs, "x", 0);
        var y = Integer(id, inputs, "y", 0);
        var operation = Choice(id, inputs, "operation", "multiply", MaskOperations);
        if (destination is null || source is null || x is null || y is null || operation is null
            || !Within(id, "x", x.Value, 0, 16384) | !Within(id, "y", y.Value, 0, 16384))
            return null;
        var node = Add(id, null, "mask.composite", [("destination", destination.Mask), ("source", source.Mask)], [("x", x.Value), ("y", y.Value), ("operation", operation)]);
        return [new MaskValue($"{node}.combined")];
    }

    // CropMask → mask.crop.
    private ComfyValue[]? CropMask(string id, JsonObject inputs)
    {
        var mask = Link<MaskValue>(id, inputs, "mask");
        var x = Integer(id, inputs, "x", 0);
        var y = Integer(id, inputs, "y", 0);
        var width = Integer(id, inputs, "width", 512);
        var height = Integer(id, inputs, "height", 512);
        if (mask is null || x is null || y is null || width is null || height is null) return null;
        if (!Within(id, "x", x.Value, 0, 16384) | !Within(id, "y", y.Value, 0, 16384) | !Within(id, "width", width.Value, 1, 16384) | !Within(id, "height", height.Value, 1, 16384))
            return null;
        var node = Add(id, null, "mask.crop", [("mask", mask.Mask)], [("x", x.Value), ("y", y.Value), ("width", width.Value), ("height", height.Value)]);
        return [new MaskValue($"{node}.cropped")];
    }

    // FeatherMask → mask.feather.
    private ComfyValue[]? FeatherMask(string id, JsonObject inputs)
    {
        var mask = Link<MaskValue>(id, inputs, "mask");
        var left = Integer(id, inputs, "left", 0);
        var top = Integer(id, inputs, "top", 0);
        var right = Integer(id, inputs, "right", 0);
        var bottom = Integer(id, inputs, "bottom", 0);
        if (mask is null || left is null || top is null || right is null || bottom is null) return null;
        if (!Within(id, "left", left.Value, 0, 16384) | !Within(id, "top", top.Value, 0, 16384) | !Within(id, "right", right.Value, 0, 16384) | !Within(id, "bottom", bottom.Value, 0, 16384))
            return null;
        var node = Add(id, null, "mask.feather", [("mask", mask.Mask)], [("left", left.Value), ("top", top.Value), ("right", right.Value), ("bottom", bottom.Value)]);
        return [new MaskValue($"{node}.feathered")];
    }
}
