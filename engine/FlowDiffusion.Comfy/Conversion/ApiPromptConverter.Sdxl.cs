using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>ComfyUI's SDXL text encoders: CLIPTextEncodeSDXL (size conditioning) and CLIPTextEncodeSDXLRefiner (aesthetic score).</summary>
public sealed partial class ApiPromptConverter
{
    // CLIPTextEncodeSDXL → tokenize, encode, conditioning.sdxl_size: width/height are the original size, crop_w/crop_h the
    // crop's left/top, target_width/target_height the target size (time_ids h, w, crop_h, crop_w, target h, w). Different
    // text_l and text_g are tokenized apart and reach clip.encode as tokens (CLIP ViT-L) and tokens_g (OpenCLIP ViT-bigG).
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
        var encode = string.Equals(textG, textL, StringComparison.Ordinal) ? Encoded(id, clip, textG) : Encoded(id, clip, textL, textG);
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
        var tokens = Add(id, "tokens", "clip.tokenize", [("tokenizer", clip.Tokenizer)], [("text", text), ("syntax", "comfyui")]);
        return $"{Add(id, "encode", "clip.encode", [("clip", clip.Clip), ("tokens", $"{tokens}.tokens")], [])}.conditioning";
    }

    // SDXL's towers with a prompt each: text_l for CLIP ViT-L, text_g for OpenCLIP ViT-bigG (clip.encode pads the one with
    // fewer windows with empty-prompt windows, as ComfyUI pads the shorter token list).
    private string Encoded(string id, ClipValue clip, string textL, string textG)
    {
        var tokensL = Add(id, "tokens", "clip.tokenize", [("tokenizer", clip.Tokenizer)], [("text", textL), ("syntax", "comfyui")]);
        var tokensG = Add(id, "tokens_g", "clip.tokenize", [("tokenizer", clip.Tokenizer)], [("text", textG), ("syntax", "comfyui")]);
        return $"{Add(id, "encode", "clip.encode", [("clip", clip.Clip), ("tokens", $"{tokensL}.tokens"), ("tokens_g", $"{tokensG}.tokens")], [])}.conditioning";
    }
}
