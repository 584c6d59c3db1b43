using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

public sealed partial class ApiPromptConverter
{
    // ComfyUI's UNETLoader weight types: unet.load rounds the weights to the fp8 types as ComfyUI does (computing in float32).
    internal static readonly string[] UNetWeightTypes = ["default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"];

    // UNETLoader → unet.load of a file in ComfyUI's diffusion_models folders (models/unet, then models/diffusion_models).
    private ComfyValue[]? UNetLoader(string id, JsonObject inputs)
    {
        var name = Text(id, inputs, "unet_name", null);
        var dtype = Choice(id, inputs, "weight_dtype", "default", UNetWeightTypes);
        if (name is null || dtype is null) return null;
        var path = folders.ResolveModelFile("unet", name) ?? folders.ResolveModelFile("diffusion_models", name);
        path ??= NotHereYet(id, "UNETLoader", name, "diffusion_models", "in models/unet or models/diffusion_models");

        if (path is null)
        {
            var available = Api.ObjectInfo.Files(folders, "unet").Concat(Api.ObjectInfo.Files(folders, "diffusion_models"));
            Error(id, "value_not_in_list", "Value not in list",
                $"unet_name: '{name}' not in [{string.Join(", ", available.Take(50).Select(a => $"'{a}'"))}] (files in models/unet and models/diffusion_models)", "unet_name");
            return null;
        }

        var node = Add(id, null, "unet.load", [], dtype == "default" ? [("path", path)] : [("path", path), ("weight_dtype", dtype)]);
        return [new ModelValue($"{node}.unet", $"{node}.scheduler_config")];
    }

    // CLIPLoader → clip.load of a file in ComfyUI's text_encoders folders (models/text_encoders, then models/clip); only
    // type stable_diffusion runs here: SD 1.x's CLIP ViT-L, SD 2.x's OpenCLIP ViT-H, or the SDXL refiner's CLIP for an OpenCLIP ViT-bigG file, as ComfyUI reads them.
    private ComfyValue[]? ClipLoader(string id, JsonObject inputs)
    {
        var name = Text(id, inputs, "clip_name", null);
        var type = Text(id, inputs, "type", "stable_diffusion");
        var device = Choice(id, inputs, "device", "default", ["default", "cpu"]);
        if (name is null || type is null || device is null) return null;
        if (type != "stable_diffusion")
        {
            Error(id, "value_not_valid", "Value not valid",
                $"type: '{type}' is not supported; FlowDiffusion's CLIPLoader reads SD 1.x's CLIP ViT-L, SD 2.x's OpenCLIP ViT-H and the SDXL refiner's OpenCLIP ViT-bigG (stable_diffusion) only.", "type");
            return null;
        }

        var path = ClipFile(id, "CLIPLoader", "clip_name", name);
        if (path is null) return null;
        var node = Add(id, null, "clip.load", [], [("path", path)]);
        return [new ClipValue($"{node}.clip", $"{node}.tokenizer")];
    }

    // DualCLIPLoader → clip.load of SDXL's two towers (type sdxl: clip_l and clip_g, in either order) from the text_encoders folders.
    private ComfyValue[]? DualClipLoader(string id, JsonObject inputs)
    {
        var first = Text(id, inputs, "clip_name1", null);
        var second = Text(id, inputs, "clip_name2", null);
        var type = Text(id, inputs, "type", null);
        var device = Choice(id, inputs, "device", "default", ["default", "cpu"]);
        if (first is null || second is null || type is null || device is null) return null;
        if (type != "sdxl")
        {
            Error(id, "value_not_valid", "Value not valid",
                $"type: '{type}' is not supported; FlowDiffusion's DualCLIPLoader reads SDXL's CLIP ViT-L and OpenCLIP ViT-bigG (sdxl) only.", "type");
            return null;
        }

        var path1 = ClipFile(id, "DualCLIPLoader", "clip_name1", first);
        var path2 = ClipFile(id, "DualCLIPLoader", "clip_name2", second);
        if (path1 is null || path2 is null) return null;
        var node = Add(id, null, "clip.load", [], [("path", path1), ("path2", path2)]);
        return [new ClipValue($"{node}.clip", $"{node}.tokenizer")];
    }

    // A text-encoder file by ComfyUI's name, looked up in models/text_encoders, then models/clip; a node error naming input when missing.
    private string? ClipFile(string id, string comfyClass, string input, string name)
    {
        var path = folders.ResolveModelFile("text_encoders", name) ?? folders.ResolveModelFile("clip", name);
        path ??= NotHereYet(id, comfyClass, name, "text_encoders", "in models/text_encoders or models/clip");

        if (path is null)
        {
            var available = Api.ObjectInfo.Files(folders, "text_encoders").Concat(Api.ObjectInfo.Files(folders, "clip"));
            Error(id, "value_not_in_list", "Value not in list",
                $"{input}: '{name}' not in [{string.Join(", ", available.Take(50).Select(a => $"'{a}'"))}] (files in models/text_encoders and models/clip)", input);
        }

        return path;
    }
}
