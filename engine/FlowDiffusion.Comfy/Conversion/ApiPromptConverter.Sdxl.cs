using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>ComfyUI's SDXL text encoders: CLIPTextEncodeSDXL (size conditioning) and CLIPTextEncodeSDXLRefiner (aesthetic score).</summary>
public sealed partial class ApiPromptConverter
{
    // CLIPTextEncodeSDXL → tokenize, encode, conditioning.sdxl_size: width/height are the original size, crop_w/crop_h the
    // crop's left/top, target_width/target_height the target size (time_ids h, w, crop_h, crop_w, target h, w).
    private ComfyValue[]? SdxlTextEncode(string id, JsonObject inputs)
    {
        var clip = Link<ClipValue>(id, inputs, "clip");
        var textG = Text(id, inputs, "text_g", null);
        var textL = Text(id, inputs, "text_l", null);
        var width = Integer(id, inputs, "width", 1024);
        var height = Integer(id, inputs, "height", 1024);
        var cropW = Integer(id, inputs, "crop_w", 0);
        var cropH = Integer(id, inputs, "crop_h", 0);
        var targetWidth = Integer(id, inputs, "target_width", 1024);
        var targetHeight = Integer(id, inputs, "target_height", 1024);
        if (clip is null || textG is null || textL is null || width is null || height is null || cropW is null || cropH is null || targetWidth is null || targetHeight is null)
            return null;
        if (!string.Equals(textG, textL, StringComparison.Ordinal))
        {
            Error(id, "value_not_supported", "Value not supported",
                "text_g and text_l differ: FlowDiffusion's clip.encode gives both SDXL text encoders the same prompt; give both the same text", "text_l");
            return null;
        }

        var encode = Encoded(id, clip, textG);
        var node = Add(id, null, "conditioning.sdxl_size", [("conditioning", encode)],
            [("original_width", width.Value), ("original_height", height.Value), ("crop_left", cropW.Value), ("crop_top", cropH.Value),
             ("target_width", targetWidth.Value), ("target_height", targetHeight.Value)]);
        return [new ConditioningValue($"{node}.conditioning_out")];
    }

    // CLIPTextEncodeSDXLRefiner → tokenize, encode, conditioning.sdxl_refiner: width/height are the original size, ascore the aesthetic score.
    private ComfyValue[]? SdxlRefinerTextEncode(string id, JsonObject inputs)
    {
        var clip = Link<ClipValue>(id, inputs, "clip");
        var text = Text(id, inputs, "text", null);
        var score = Number(id, inputs, "ascore", 6);
        var width = Integer(id, inputs, "width", 1024);
        var height = Integer(id, inputs, "height", 1024);
        if (clip is null || text is null || score is null || width is null || height is null) return null;
        var encode = Encoded(id, clip, text);
        var node = Add(id, null, "conditioning.sdxl_refiner", [("conditioning", encode)],
            [("aesthetic_score", score.Value), ("original_width", width.Value), ("original_height", height.Value)]);
        return [new ConditioningValue($"{node}.conditioning_out")];
    }

    private string Encoded(string id, ClipValue clip, string text)
    {
        var tokens = Add(id, "tokens", "clip.tokenize", [("tokenizer", clip.Tokenizer)], [("text", text)]);
        return $"{Add(id, "encode", "clip.encode", [("clip", clip.Clip), ("tokens", $"{tokens}.tokens")], [])}.conditioning";
    }
}
