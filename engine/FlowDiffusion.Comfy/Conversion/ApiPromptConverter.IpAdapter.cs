using System.Text.Json.Nodes;
using FlowDiffusion.Checkpoints;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's CLIP vision loader and encoder, and the IPAdapter_plus pack's loaders and IPAdapter / IPAdapterAdvanced. The
/// pack patches the MODEL's cross-attention; here the adapter rides on the MODEL, as RescaleCFG does, and every sampler or
/// guider it reaches adds it to its positive with ipadapter.apply (the negative then attends the empty image's tokens, as
/// the pack's unconditional side does).
/// </summary>
public sealed partial class ApiPromptConverter
{
    internal static readonly string[] SimpleWeightTypes = ["standard", "prompt is more important", "style transfer"];

    // The pack's weight types (WEIGHT_TYPES); the two "precise" ones swap the image and empty tokens per layer, which
    // ipadapter.apply does not.
    internal static readonly string[] PackWeightTypes =
    [
        "linear", "ease in", "ease out", "ease in-out", "reverse in-out", "weak input", "weak output", "weak middle", "strong middle", "style transfer",
        "composition", "strong style transfer", "style and composition", "style transfer precise", "composition precise",
    ];

    internal static readonly string[] CombineModes = ["concat", "add", "subtract", "average", "norm average"];

    internal static readonly string[] EmbedsScalings = ["V only", "K+V", "K+V w/ C penalty", "K+mean(V) w/ C penalty"];

    // CLIPVisionLoader → clip_vision.load of a .safetensors (or ONNX) file in models/clip_vision.
    private ComfyValue[]? ClipVisionLoader(string id, JsonObject inputs)
    {
        var path = ReadableModelFile(id, inputs, "clip_name", "clip_vision", "CLIPVisionLoader");
        return path is null ? null : [new ClipVisionValue($"{Add(id, null, "clip_vision.load", [], [("path", EncoderFolder(path))])}.clip_vision")];
    }

    // A model.safetensors with a config.json beside it is a transformers folder (IP-Adapter's image_encoder): clip_vision.load
    // reads it as the folder, whose config gives the heads a single file's tensors do not.
    private string EncoderFolder(string path)
    {
        var full = Path.GetFullPath(Path.Combine(folders.WorkingFolder, path));
        var slash = path.Replace('\\', '/').LastIndexOf('/');
        return slash > 0 && Path.GetFileName(full) == "model.safetensors" && File.Exists(Path.Combine(Path.GetDirectoryName(full)!, "config.json")) ? path[..slash] : path;
    }

    // CLIPVisionEncode → clip_vision.encode (crop center or none). Its CLIP_VISION_OUTPUT feeds no class mapped here
    // (unCLIPConditioning, StyleModelApply are not); a link to one is a type error naming it.
    private ComfyValue[]? ClipVisionEncode(string id, JsonObject inputs)
    {
        var clipVision = Link<ClipVisionValue>(id, inputs, "clip_vision");
        var image = Link<ImageValue>(id, inputs, "image");
        var crop = Choice(id, inputs, "crop", "center", ["center", "none"]);
        if (clipVision is null || image is null || crop is null) return null;
        var node = Add(id, null, "clip_vision.encode", [("clip_vision", clipVision.ClipVision), ("image", image.Image)], [("crop", crop)]);
        return [new ClipVisionOutputValue($"{node}.embeds")];
    }

    // IPAdapterModelLoader → ipadapter.load of a file in models/ipadapter.
    private ComfyValue[]? IpAdapterModelLoader(string id, JsonObject inputs)
    {
        var path = ReadableModelFile(id, inputs, "ipadapter_file", "ipadapter", "IPAdapterModelLoader");
        return path is null ? null : [new IpAdapterValue($"{Add(id, null, "ipadapter.load", [], [("path", path)])}.adapter", null)];
    }

    // IPAdapterUnifiedLoader → the preset's CLIP vision and IP-Adapter files, picked as the pack picks them for the
    // model's family; the MODEL passes through. The optional ipadapter input (the pack's cache of loaded models) changes
    // nothing here.
    private ComfyValue[]? IpAdapterUnifiedLoader(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var preset = Choice(id, inputs, "preset", IpAdapterPresets.Names[0], IpAdapterPresets.Names);
        if (inputs["ipadapter"] is not null && Link<IpAdapterValue>(id, inputs, "ipadapter") is null) return null;
        if (model is null || preset is null) return null;
        var sdxl = IsSdxl(id, model);
        if (sdxl is null) return null;
        var (adapterFile, refusal) = IpAdapterPresets.Adapter(preset, sdxl.Value, Api.ObjectInfo.Files(folders, "ipadapter"));
        if (refusal is not null)
        {
            Error(id, "value_not_supported", "Value not supported", $"preset: '{preset}': {refusal}", "preset");
            return null;
        }

        var clipFile = IpAdapterPresets.ClipVision(preset, Api.ObjectInfo.Files(folders, "clip_vision"));
        if (clipFile is null) Error(id, "value_not_in_list", "ClipVision model not found.", $"preset: '{preset}': no file in models/clip_vision matches the preset's name pattern", "preset");
        if (adapterFile is null) Error(id, "value_not_in_list", "IPAdapter model not found.", $"preset: '{preset}': no file in models/ipadapter matches the preset's name pattern", "preset");
        if (clipFile is null || adapterFile is null || !Readable(id, "preset", "clip_vision", clipFile) | !Readable(id, "preset", "ipadapter", adapterFile)) return null;
        var clipPath = folders.ResolveModelFile("clip_vision", clipFile)!;
        var adapterPath = folders.ResolveModelFile("ipadapter", adapterFile)!;
        var clipVision = Add(id, "clip_vision", "clip_vision.load", [], [("path", EncoderFolder(clipPath))]);
        var adapter = Add(id, null, "ipadapter.load", [], [("path", adapterPath)]);
        return [model, new IpAdapterValue($"{adapter}.adapter", $"{clipVision}.clip_vision")];
    }

    // IPAdapter (the pack's simple node): its weight types are "standard" (linear), "prompt is more important" (ease out)
    // and "style transfer"; the CLIP vision model comes from IPAdapterUnifiedLoader's pipeline.
    private ComfyValue[]? IpAdapterSimple(string id, JsonObject inputs)
    {
        var type = Choice(id, inputs, "weight_type", "standard", SimpleWeightTypes);
        var ipadapter = Link<IpAdapterValue>(id, inputs, "ipadapter");
        if (ipadapter is { ClipVision: null })
        {
            Error(id, "value_not_supported", "CLIPVision model not present in the pipeline.",
                "ipadapter: IPAdapter takes the pipeline of an IPAdapterUnifiedLoader (its CLIP vision model); with IPAdapterModelLoader use IPAdapterAdvanced and its clip_vision input", "ipadapter");
            ipadapter = null;
        }

        var weightType = type switch { "style transfer" => "style transfer", "prompt is more important" => "ease out", _ => "linear" };
        return IpAdapterApply(id, inputs, ipadapter, type is null ? null : weightType, maxWeight: 3, "concat", "V only", null);
    }

    // IPAdapterAdvanced: clip_vision (else the pipeline's), image_negative for the unconditional side; attn_mask is refused.
    private ComfyValue[]? IpAdapterAdvanced(string id, JsonObject inputs)
    {
        var ipadapter = Link<IpAdapterValue>(id, inputs, "ipadapter");
        var weightType = Choice(id, inputs, "weight_type", "linear", PackWeightTypes);
        var combine = Choice(id, inputs, "combine_embeds", "concat", CombineModes);
        var scaling = Choice(id, inputs, "embeds_scaling", "V only", EmbedsScalings);
        var clipVision = inputs["clip_vision"] is null ? null : Link<ClipVisionValue>(id, inputs, "clip_vision");
        var negative = inputs["image_negative"] is null ? null : Link<ImageValue>(id, inputs, "image_negative");
        if (inputs["attn_mask"] is not null)
        {
            Error(id, "value_not_supported", "Value not supported", "attn_mask: IP-Adapter attention masks are not supported by FlowDiffusion; remove the mask (the image prompt then acts on the whole image)", "attn_mask");
            return null;
        }

        if (weightType is "style transfer precise" or "composition precise")
        {
            Error(id, "value_not_supported", "Value not supported",
                $"weight_type: '{weightType}' (it gives the empty image's tokens to the positive on some layers) is not supported; the others are", "weight_type");
            return null;
        }

        if ((inputs["clip_vision"] is not null && clipVision is null) || (inputs["image_negative"] is not null && negative is null)) return null;
        if (ipadapter is not null && clipVision is not null) ipadapter = ipadapter with { ClipVision = clipVision.ClipVision };
        if (ipadapter is { ClipVision: null })
        {
            Error(id, "required_input_missing", "Missing CLIPVision model.", "clip_vision: an IPAdapterModelLoader's adapter needs a CLIPVisionLoader linked to clip_vision", "clip_vision");
            return null;
        }

        return IpAdapterApply(id, inputs, ipadapter, weightType, maxWeight: 5, combine, scaling, negative);
    }

    private ComfyValue[]? IpAdapterApply(string id, JsonObject inputs, IpAdapterValue? ipadapter, string? weightType, double maxWeight, string? combine, string? scaling,
        ImageValue? negative)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var image = Link<ImageValue>(id, inputs, "image");
        var weight = Number(id, inputs, "weight", 1);
        var start = Number(id, inputs, "start_at", 0);
        var end = Number(id, inputs, "end_at", 1);
        if (model is null || ipadapter is null || image is null || weight is null || start is null || end is null || weightType is null || combine is null || scaling is null
            || !Within(id, "weight", weight.Value, -1, maxWeight) | !Within(id, "start_at", start.Value, 0, 1) | !Within(id, "end_at", end.Value, 0, 1))
            return null;
        if (model.IpAdapter is not null)
        {
            Error(id, "value_not_supported", "Value not supported", $"model: it already carries the IP-Adapter of node {model.IpAdapter.ComfyId}; FlowDiffusion applies one IP-Adapter per model", "model");
            return null;
        }

        // The pack encodes the image at 224 with a centre crop, and gives IP-Adapter Plus's negative a black image's states.
        var embeds = Add(id, "encode", "clip_vision.encode", [("clip_vision", ipadapter.ClipVision!), ("image", image.Image)], [("crop", "center"), ("unconditional", "black")]);
        var negativeEmbeds = negative is null ? null
            : Add(id, "encode_negative", "clip_vision.encode", [("clip_vision", ipadapter.ClipVision!), ("image", negative.Image)], [("crop", "center"), ("unconditional", "black")]);

        // ComfyUI compares sigmas with percent_to_sigma's: end_at 0 (an infinite sigma), start_at 1 (sigma 0) or a start
        // after the end leave no step in the window, so the adapter never acts.
        if (end.Value == 0 || start.Value == 1 || start.Value > end.Value) return [model];
        return [model with { IpAdapter = new IpAdapterPatch(id, ipadapter.Adapter, $"{embeds}.embeds", negativeEmbeds is null ? null : $"{negativeEmbeds}.embeds",
            weight.Value, start.Value, end.Value, weightType, combine, scaling) }];
    }

    // The positive with the model's IP-Adapter added (ipadapter.apply under the sampler's or guider's node id).
    private string WithIpAdapter(string id, ModelValue model, string positive)
    {
        if (model.IpAdapter is not { } patch) return positive;
        var edges = new List<(string, string)> { ("conditioning", positive), ("adapter", patch.Adapter), ("embeds", patch.Embeds) };
        if (patch.Negative is not null) edges.Add(("negative", patch.Negative));
        var node = Add(id, "ipadapter", "ipadapter.apply", edges,
        [
            ("weight", patch.Weight), ("start_percent", patch.Start), ("end_percent", patch.End), ("weight_type", patch.WeightType), ("combine", patch.Combine),
            ("embeds_scaling", patch.EmbedsScaling),
        ]);
        return $"{node}.result";
    }

    // Whether the model is SDXL, from its checkpoint's tensor names or folder layout (null, with a node error: unknown).
    private bool? IsSdxl(string id, ModelValue model)
    {
        if (model.Checkpoint is null)
        {
            Error(id, "value_not_supported", "Value not supported", "model: IPAdapterUnifiedLoader picks files by the model's family, which is known for a CheckpointLoaderSimple's model only; use IPAdapterModelLoader and CLIPVisionLoader", "model");
            return null;
        }

        return LooksSdxl(model.Checkpoint);
    }

    // Whether a checkpoint (a path the prompt resolved) is SDXL's; one that cannot be read yet is taken for SD 1.x.
    private bool LooksSdxl(string checkpoint)
    {
        try
        {
            return SdxlCheckpoint.Detect(Path.GetFullPath(Path.Combine(folders.WorkingFolder, checkpoint))) == ModelFamily.StableDiffusionXL;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or FormatException or ArgumentException or System.Text.Json.JsonException)
        {
            // An imported workflow's checkpoint may not be readable yet; loading it reports the problem.
            return false;
        }
    }

    // A model file by name that FlowDiffusion's loaders read (safetensors, a PyTorch checkpoint or ONNX).
    private string? ReadableModelFile(string id, JsonObject inputs, string input, string folder, string type)
    {
        var name = Text(id, inputs, input, null);
        return name is null || !Readable(id, input, folder, name) ? null : ModelFile(id, inputs, input, folder, type);
    }

    private bool Readable(string id, string input, string folder, string name)
    {
        if (WeightFiles.IsWeightFile(name) || name.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) return true;
        Error(id, "value_not_supported", "Value not supported",
            $"{input}: '{name}' is not a weight file FlowDiffusion reads ({string.Join(", ", WeightFiles.Extensions)} or .onnx); put one in models/{folder}", input);
        return false;
    }
}
