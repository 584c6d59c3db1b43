using System.Text.Json.Nodes;
using FlowDiffusion.Checkpoints.Taesd;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Comfy.Api;

/// <summary>
/// <c>/object_info</c>: the ComfyUI classes this layer knows, in ComfyUI's schema (inputs as <c>[TYPE, options]</c>,
/// combos as <c>[[values…]]</c>). Classes listed as unsupported are described so that clients reading them work, and
/// report a node error when a prompt uses them.
/// </summary>
internal static class ObjectInfo
{
    private const double MaxSeed = 18446744073709551615d;

    // Python's sys.maxsize, the bound of ComfyUI's primitive numbers.
    private const double MaxInt = 9223372036854775807d;

    private static readonly string[] LatentMethods = ["nearest-exact", "bilinear", "area", "bicubic", "bislerp"];

    // KSampler's schedulers, with the names extensions add (AYS SD1 …, GITS[coeff=1.2]) after ComfyUI's own.
    private static readonly string[] Schedulers = [.. SigmaSchedules.Names, .. SigmaSchedules.ExtensionNames];

    private static readonly string[] ImageMethods = ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"];

    // ComfyUI inputs whose value becomes, unchanged, a parameter of the node their class converts to: the input is marked
    // "advanced" (ComfyUI's schema flag, which its frontend tucks away) exactly when that parameter is declared Advanced.
    private static readonly (string Class, string Input, string Node, string Parameter)[] OneToOne =
    [
        ("VAEDecodeTiled", "overlap", "vae.decode_tiled", "overlap"),
        ("VAEEncodeTiled", "overlap", "vae.encode_tiled", "overlap"),
    ];

    public static JsonObject All(ComfyFolders folders, NodeCatalog catalog)
    {
        var all = new JsonObject();
        foreach (var name in ApiPromptConverter.SupportedClasses.Concat(ApiPromptConverter.ListedButUnsupported))
            all[name] = Describe(name, folders, catalog);
        return all;
    }

    // The class's schema as /object_info serves it: inputs mapped one to one onto an Advanced parameter marked so.
    public static JsonObject? Describe(string name, ComfyFolders folders, NodeCatalog catalog)
    {
        if (Describe(name, folders) is not { } info) return null;
        foreach (var (_, input, node, parameter) in OneToOne.Where(o => o.Class == name))
        {
            if (catalog.Find(node)?.Parameter(parameter) is not { Advanced: true }) continue;
            var spec = (JsonArray)(info["input"]!["required"]![input] ?? info["input"]!["optional"]![input])!;
            if (spec.Count < 2) spec.Add(new JsonObject());
            spec[1]!["advanced"] = true;
        }

        return info;
    }

    // The class's schema without the advanced marks (what reading a UI workflow's widget values needs).
    public static JsonObject? Describe(string name, ComfyFolders folders) => name switch
    {
        "CheckpointLoaderSimple" => Class(name, "Load Checkpoint", "loaders", Req(("ckpt_name", Combo(folders.Checkpoints()))), ["MODEL", "CLIP", "VAE"]),
        "CLIPTextEncode" => Class(name, "CLIP Text Encode (Prompt)", "conditioning",
            Req(("text", Typed("STRING", new JsonObject { ["multiline"] = true, ["dynamicPrompts"] = true })), ("clip", Typed("CLIP"))), ["CONDITIONING"]),
        "CLIPTextEncodeSDXL" => Class(name, "CLIPTextEncodeSDXL", "advanced/conditioning",
            Req(("clip", Typed("CLIP")), ("width", Int(1024, 0, 16384)), ("height", Int(1024, 0, 16384)), ("crop_w", Int(0, 0, 16384)), ("crop_h", Int(0, 0, 16384)),
                ("target_width", Int(1024, 0, 16384)), ("target_height", Int(1024, 0, 16384)),
                ("text_g", Typed("STRING", new JsonObject { ["multiline"] = true, ["dynamicPrompts"] = true })),
                ("text_l", Typed("STRING", new JsonObject { ["multiline"] = true, ["dynamicPrompts"] = true }))), ["CONDITIONING"]),
        "CLIPTextEncodeSDXLRefiner" => Class(name, "CLIPTextEncodeSDXLRefiner", "advanced/conditioning",
            Req(("ascore", Float(6, 0, 1000, 0.01)), ("width", Int(1024, 0, 16384)), ("height", Int(1024, 0, 16384)),
                ("text", Typed("STRING", new JsonObject { ["multiline"] = true, ["dynamicPrompts"] = true })), ("clip", Typed("CLIP"))), ["CONDITIONING"]),
        "CLIPSetLastLayer" => Class(name, "CLIP Set Last Layer", "conditioning",
            Req(("clip", Typed("CLIP")), ("stop_at_clip_layer", Int(-1, -24, -1))), ["CLIP"]),
        "EmptyLatentImage" => Class(name, "Empty Latent Image", "latent",
            Req(("width", Int(512, 16, 16384, 8)), ("height", Int(512, 16, 16384, 8)), ("batch_size", Int(1, 1, 4096))), ["LATENT"]),
        "KSampler" => Class(name, "KSampler", "sampling", Req(
            ("model", Typed("MODEL")), ("seed", Int(0, 0, MaxSeed)), ("steps", Int(20, 1, 10000)), ("cfg", Float(8, 0, 100, 0.1)),
            ("sampler_name", Combo(KSamplers.Names)), ("scheduler", Combo(Schedulers)),
            ("positive", Typed("CONDITIONING")), ("negative", Typed("CONDITIONING")), ("latent_image", Typed("LATENT")),
            ("denoise", Float(1, 0, 1, 0.01))), ["LATENT"]),
        "KSamplerAdvanced" => Class(name, "KSampler (Advanced)", "sampling", Req(
            ("model", Typed("MODEL")), ("add_noise", Combo(["enable", "disable"])), ("noise_seed", Int(0, 0, MaxSeed)),
            ("steps", Int(20, 1, 10000)), ("cfg", Float(8, 0, 100, 0.1)), ("sampler_name", Combo(KSamplers.Names)),
            ("scheduler", Combo(Schedulers)), ("positive", Typed("CONDITIONING")), ("negative", Typed("CONDITIONING")),
            ("latent_image", Typed("LATENT")), ("start_at_step", Int(0, 0, 10000)), ("end_at_step", Int(10000, 0, 10000)),
            ("return_with_leftover_noise", Combo(["disable", "enable"]))), ["LATENT"]),
        "VAEDecode" => Class(name, "VAE Decode", "latent", Req(("samples", Typed("LATENT")), ("vae", Typed("VAE"))), ["IMAGE"]),
        "VAEEncode" => Class(name, "VAE Encode", "latent", Req(("pixels", Typed("IMAGE")), ("vae", Typed("VAE"))), ["LATENT"]),
        "VAEEncodeForInpaint" => Class(name, "VAE Encode (for Inpainting)", "latent/inpaint",
            Req(("pixels", Typed("IMAGE")), ("vae", Typed("VAE")), ("mask", Typed("MASK")), ("grow_mask_by", Int(6, 0, 64))), ["LATENT"]),
        "SetLatentNoiseMask" => Class(name, "Set Latent Noise Mask", "latent/inpaint", Req(("samples", Typed("LATENT")), ("mask", Typed("MASK"))), ["LATENT"]),
        "LoadImage" => Class(name, "Load Image", "image",
            Req(("image", new JsonArray(Names(Inputs(folders)), new JsonObject { ["image_upload"] = true }))), ["IMAGE", "MASK"]),
        "LoadImageOutput" => Class(name, "Load Image (from Outputs)", "image", Req(("image", Typed("COMBO", new JsonObject
        {
            ["image_upload"] = true,
            ["image_folder"] = "output",
            ["remote"] = new JsonObject { ["route"] = "/internal/files/output", ["refresh_button"] = true, ["control_after_refresh"] = "first" },
        }))), ["IMAGE", "MASK"]),
        "LoadImageMask" => Class(name, "Load Image (as Mask)", "mask",
            Req(("image", new JsonArray(Names(Inputs(folders)), new JsonObject { ["image_upload"] = true })), ("channel", Combo(["alpha", "red", "green", "blue"]))), ["MASK"]),
        "SaveImage" => Class(name, "Save Image", "image",
            Req(("images", Typed("IMAGE")), ("filename_prefix", Typed("STRING", new JsonObject { ["default"] = "ComfyUI" }))), [], output: true),
        "PreviewImage" => Class(name, "Preview Image", "image", Req(("images", Typed("IMAGE"))), [], output: true),
        "SaveAnimatedWEBP" => Class(name, "SaveAnimatedWEBP", "image/animation", Req(("images", Typed("IMAGE")),
            ("filename_prefix", Typed("STRING", new JsonObject { ["default"] = "ComfyUI" })), ("fps", Float(6, 0.01, 1000, 0.01)),
            ("lossless", Typed("BOOLEAN", new JsonObject { ["default"] = true })), ("quality", Int(80, 0, 100)),
            ("method", Combo(["default", "fastest", "slowest"]))), [], output: true),
        "SaveAnimatedPNG" => Class(name, "SaveAnimatedPNG", "image/animation", Req(("images", Typed("IMAGE")),
            ("filename_prefix", Typed("STRING", new JsonObject { ["default"] = "ComfyUI" })), ("fps", Float(6, 0.01, 1000, 0.01)),
            ("compress_level", Int(4, 0, 9))), [], output: true),
        "PreviewAny" => Class(name, "Preview Any", "utils", Req(("source", Typed("*"))), [], output: true),
        "MaskPreview" => Class(name, "Preview Mask", "mask", Req(("mask", Typed("MASK"))), [], output: true),
        "ConditioningCombine" => Class(name, "Conditioning (Combine)", "conditioning",
            Req(("conditioning_1", Typed("CONDITIONING")), ("conditioning_2", Typed("CONDITIONING"))), ["CONDITIONING"]),
        "LoraLoader" => Class(name, "Load LoRA", "loaders", Req(("model", Typed("MODEL")), ("clip", Typed("CLIP")),
            ("lora_name", Combo(Files(folders, "loras"))), ("strength_model", Float(1, -100, 100, 0.01)), ("strength_clip", Float(1, -100, 100, 0.01))), ["MODEL", "CLIP"]),
        "LoraLoaderModelOnly" => Class(name, "LoraLoaderModelOnly", "loaders", Req(("model", Typed("MODEL")),
            ("lora_name", Combo(Files(folders, "loras"))), ("strength_model", Float(1, -100, 100, 0.01))), ["MODEL"]),
        "ImageInvert" => Class(name, "Invert Image", "image", Req(("image", Typed("IMAGE"))), ["IMAGE"]),
        "GrowMask" => Class(name, "GrowMask", "mask", Req(("mask", Typed("MASK")), ("expand", Int(0, -16384, 16384)),
            ("tapered_corners", Typed("BOOLEAN", new JsonObject { ["default"] = true }))), ["MASK"]),
        "InvertMask" => Class(name, "InvertMask", "mask", Req(("mask", Typed("MASK"))), ["MASK"]),
        "ThresholdMask" => Class(name, "ThresholdMask", "mask", Req(("mask", Typed("MASK")), ("value", Float(0.5, 0, 1, 0.01))), ["MASK"]),
        "SolidMask" => Class(name, "SolidMask", "mask", Req(("value", Float(1, 0, 1, 0.01)), ("width", Int(512, 1, 16384)), ("height", Int(512, 1, 16384))), ["MASK"]),
        "KSamplerSelect" => Class(name, "KSamplerSelect", "sampling/custom_sampling/samplers", Req(("sampler_name", Combo(KSamplers.Names))), ["SAMPLER"]),
        "SamplerEulerAncestral" or "SamplerDPMPP_2S_Ancestral" => Class(name, name, "sampling/custom_sampling/samplers",
            Req(("eta", Factor(1)), ("s_noise", Factor(1))), ["SAMPLER"]),
        "SamplerDPMPP_SDE" => Class(name, name, "sampling/custom_sampling/samplers",
            Req(("eta", Factor(1)), ("s_noise", Factor(1)), ("r", Factor(0.5)), ("noise_device", Combo(["gpu", "cpu"]))), ["SAMPLER"]),
        "SamplerDPMPP_2M_SDE" => Class(name, name, "sampling/custom_sampling/samplers",
            Req(("solver_type", Combo(KSamplerParameters.SolverTypes)), ("eta", Factor(1)), ("s_noise", Factor(1)), ("noise_device", Combo(["gpu", "cpu"]))), ["SAMPLER"]),
        "SamplerDPMPP_3M_SDE" => Class(name, name, "sampling/custom_sampling/samplers",
            Req(("eta", Factor(1)), ("s_noise", Factor(1)), ("noise_device", Combo(["gpu", "cpu"]))), ["SAMPLER"]),
        "SamplerLMS" => Class(name, name, "sampling/custom_sampling/samplers", Req(("order", Int(4, 1, KSamplerParameters.MaxOrder))), ["SAMPLER"]),
        "SamplerDPMAdaptative" => Class(name, name, "sampling/custom_sampling/samplers", Req(("order", Int(3, 2, 3)), ("rtol", Adaptive(0.05)),
            ("atol", Adaptive(0.0078)), ("h_init", Adaptive(0.05)), ("pcoeff", Adaptive(0)), ("icoeff", Adaptive(1)), ("dcoeff", Adaptive(0)),
            ("accept_safety", Adaptive(0.81)), ("eta", Adaptive(0)), ("s_noise", Adaptive(1))), ["SAMPLER"]),
        "SamplerSASolver" => Class(name, name, "sampling/custom_sampling/samplers", Req(("model", Typed("MODEL")),
            ("eta", Float(1, 0, KSamplerParameters.MaxSaSolverEta, 0.01, rounded: false)), ("sde_start_percent", Float(0.2, 0, 1, 0.001, rounded: false)),
            ("sde_end_percent", Float(0.8, 0, 1, 0.001, rounded: false)), ("s_noise", Factor(1)), ("predictor_order", Int(3, 1, KSamplerParameters.MaxSaSolverOrder)),
            ("corrector_order", Int(4, 0, KSamplerParameters.MaxSaSolverOrder)), ("use_pece", Typed("BOOLEAN", new JsonObject { ["default"] = false })),
            ("simple_order_2", Typed("BOOLEAN", new JsonObject { ["default"] = false }))), ["SAMPLER"]),
        "SamplerER_SDE" => Class(name, name, "sampling/custom_sampling/samplers", Req(("solver_type", Combo(["ER-SDE", "Reverse-time SDE", "ODE"])),
            ("max_stage", Int(3, 1, 3)), ("eta", Factor(1)), ("s_noise", Factor(1))), ["SAMPLER"]),
        "SamplerEulerCFGpp" => Class(name, "SamplerEulerCFG++", "_for_testing", Req(("version", Combo(["regular"]))), ["SAMPLER"]),
        "SamplerEulerAncestralCFGPP" => Class(name, "SamplerEulerAncestralCFG++", "sampling/custom_sampling/samplers",
            Req(("eta", Float(1, 0, 1, 0.01, rounded: false)), ("s_noise", Float(1, 0, 10, 0.01, rounded: false))), ["SAMPLER"]),
        "BasicScheduler" => Class(name, "BasicScheduler", "sampling/custom_sampling/schedulers", Req(("model", Typed("MODEL")),
            ("scheduler", Combo(Schedulers)), ("steps", Int(20, 1, 10000)), ("denoise", Float(1, 0, 1, 0.01))), ["SIGMAS"]),
        "KarrasScheduler" => Class(name, "KarrasScheduler", "sampling/custom_sampling/schedulers", Req(("steps", Int(20, 1, 10000)),
            ("sigma_max", Float(14.614642, 0, 5000, 0.01, rounded: false)), ("sigma_min", Float(0.0291675, 0, 5000, 0.01, rounded: false)),
            ("rho", Float(7, 0, 100, 0.01, rounded: false))), ["SIGMAS"]),
        "ExponentialScheduler" => Class(name, "ExponentialScheduler", "sampling/custom_sampling/schedulers", Req(("steps", Int(20, 1, 10000)),
            ("sigma_max", Float(14.614642, 0, 5000, 0.01, rounded: false)), ("sigma_min", Float(0.0291675, 0, 5000, 0.01, rounded: false))), ["SIGMAS"]),
        "AlignYourStepsScheduler" => Class(name, "AlignYourStepsScheduler", "sampling/custom_sampling/schedulers", Req(("model_type", Combo(AlignYourSteps.ModelTypes)),
            ("steps", Int(10, 1, 10000)), ("denoise", Float(1, 0, 1, 0.01))), ["SIGMAS"]),
        "SDTurboScheduler" => Class(name, name, "sampling/custom_sampling/schedulers", Req(("model", Typed("MODEL")), ("steps", Int(1, 1, 10)),
            ("denoise", Float(1, 0, 1, 0.01))), ["SIGMAS"]),
        "PolyexponentialScheduler" => Class(name, name, "sampling/custom_sampling/schedulers", Req(("steps", Int(20, 1, 10000)),
            ("sigma_max", Float(14.614642, 0, 5000, 0.01, rounded: false)), ("sigma_min", Float(0.0291675, 0, 5000, 0.01, rounded: false)),
            ("rho", Float(1, 0, 100, 0.01, rounded: false))), ["SIGMAS"]),
        "VPScheduler" => Class(name, name, "sampling/custom_sampling/schedulers", Req(("steps", Int(20, 1, 10000)),
            ("beta_d", Float(19.9, 0, 5000, 0.01, rounded: false)), ("beta_min", Float(0.1, 0, 5000, 0.01, rounded: false)),
            ("eps_s", Float(0.001, 0, 1, 0.0001, rounded: false))), ["SIGMAS"]),
        "LaplaceScheduler" => Class(name, name, "sampling/custom_sampling/schedulers", Req(("steps", Int(20, 1, 10000)),
            ("sigma_max", Float(14.614642, 0, 5000, 0.01, rounded: false)), ("sigma_min", Float(0.0291675, 0, 5000, 0.01, rounded: false)),
            ("mu", Float(0, -10, 10, 0.1, rounded: false)), ("beta", Float(0.5, 0, 10, 0.1, rounded: false))), ["SIGMAS"]),
        "BetaSamplingScheduler" => Class(name, name, "sampling/custom_sampling/schedulers", Req(("model", Typed("MODEL")), ("steps", Int(20, 1, 10000)),
            ("alpha", Float(0.6, 0, 50, 0.01, rounded: false)), ("beta", Float(0.6, 0, 50, 0.01, rounded: false))), ["SIGMAS"]),
        "GITSScheduler" => Class(name, name, "sampling/custom_sampling/schedulers", Req(("coeff", Float(1.2, 0.8, 1.5, 0.05)), ("steps", Int(10, 2, 1000)),
            ("denoise", Float(1, 0, 1, 0.01))), ["SIGMAS"]),
        "SplitSigmasDenoise" => Class(name, name, "sampling/custom_sampling/sigmas", Req(("sigmas", Typed("SIGMAS")), ("denoise", Float(1, 0, 1, 0.01))),
            ["SIGMAS", "SIGMAS"], names: ["high_sigmas", "low_sigmas"]),
        "SamplingPercentToSigma" => Class(name, name, "sampling/custom_sampling/sigmas", Req(("model", Typed("MODEL")),
            ("sampling_percent", Float(0, 0, 1, 0.0001, rounded: false)), ("return_actual_sigma", Flag(false))), ["FLOAT"], names: ["sigma_value"]),
        "SetFirstSigma" => Class(name, name, "sampling/custom_sampling/sigmas", Req(("sigmas", Typed("SIGMAS")),
            ("sigma", Float(136, 0, 20000, 0.001, rounded: false))), ["SIGMAS"]),
        "SplitSigmas" => Class(name, "SplitSigmas", "sampling/custom_sampling/sigmas", Req(("sigmas", Typed("SIGMAS")), ("step", Int(0, 0, 10000))),
            ["SIGMAS", "SIGMAS"], names: ["high_sigmas", "low_sigmas"]),
        "RandomNoise" => Class(name, "RandomNoise", "sampling/custom_sampling/noise", Req(("noise_seed", Seed())), ["NOISE"]),
        "DisableNoise" => Class(name, "DisableNoise", "sampling/custom_sampling/noise", Req(), ["NOISE"]),
        "CFGGuider" => Class(name, "CFGGuider", "sampling/custom_sampling/guiders", Req(("model", Typed("MODEL")), ("positive", Typed("CONDITIONING")),
            ("negative", Typed("CONDITIONING")), ("cfg", Float(8, 0, 100, 0.1))), ["GUIDER"]),
        "BasicGuider" => Class(name, "BasicGuider", "sampling/custom_sampling/guiders", Req(("model", Typed("MODEL")), ("conditioning", Typed("CONDITIONING"))), ["GUIDER"]),
        "SamplerCustom" => Class(name, "SamplerCustom", "sampling/custom_sampling", Req(("model", Typed("MODEL")),
            ("add_noise", Typed("BOOLEAN", new JsonObject { ["default"] = true })), ("noise_seed", Seed()), ("cfg", Float(8, 0, 100, 0.1)),
            ("positive", Typed("CONDITIONING")), ("negative", Typed("CONDITIONING")), ("sampler", Typed("SAMPLER")), ("sigmas", Typed("SIGMAS")),
            ("latent_image", Typed("LATENT"))), ["LATENT", "LATENT"], names: ["output", "denoised_output"]),
        "SamplerCustomAdvanced" => Class(name, "SamplerCustomAdvanced", "sampling/custom_sampling", Req(("noise", Typed("NOISE")), ("guider", Typed("GUIDER")),
            ("sampler", Typed("SAMPLER")), ("sigmas", Typed("SIGMAS")), ("latent_image", Typed("LATENT"))), ["LATENT", "LATENT"], names: ["output", "denoised_output"]),
        "InpaintModelConditioning" => Class(name, "InpaintModelConditioning", "conditioning/inpaint", Req(("positive", Typed("CONDITIONING")),
            ("negative", Typed("CONDITIONING")), ("vae", Typed("VAE")), ("pixels", Typed("IMAGE")), ("mask", Typed("MASK")),
            ("noise_mask", Typed("BOOLEAN", new JsonObject { ["default"] = true, ["tooltip"] = "Give the latent the mask as its noise mask, so the sampler repaints only under it." }))),
            ["CONDITIONING", "CONDITIONING", "LATENT"], names: ["positive", "negative", "latent"]),
        "ConditioningZeroOut" => Class(name, "ConditioningZeroOut", "advanced/conditioning", Req(("conditioning", Typed("CONDITIONING"))), ["CONDITIONING"]),
        "ModelSamplingDiscrete" => Class(name, "ModelSamplingDiscrete", "advanced/model", Req(("model", Typed("MODEL")),
            ("sampling", Combo(["eps", "v_prediction", "lcm", "x0", "img_to_img"])), ("zsnr", Typed("BOOLEAN", new JsonObject { ["default"] = false }))), ["MODEL"]),
        "ModelSamplingContinuousEDM" => Class(name, "ModelSamplingContinuousEDM", "advanced/model", Req(("model", Typed("MODEL")),
            ("sampling", Combo(["v_prediction", "edm", "edm_playground_v2.5", "eps", "cosmos_rflow"])), ("sigma_max", Float(120, 0, 1000, 0.001, rounded: false)),
            ("sigma_min", Float(0.002, 0, 1000, 0.001, rounded: false))), ["MODEL"]),
        "ModelSamplingContinuousV" => Class(name, "ModelSamplingContinuousV", "advanced/model", Req(("model", Typed("MODEL")),
            ("sampling", Combo(["v_prediction"])), ("sigma_max", Float(500, 0, 1000, 0.001, rounded: false)), ("sigma_min", Float(0.03, 0, 1000, 0.001, rounded: false))), ["MODEL"]),
        "RescaleCFG" => Class(name, "RescaleCFG", "advanced/model", Req(("model", Typed("MODEL")), ("multiplier", Float(0.7, 0, 1, 0.01))), ["MODEL"]),
        "ConditioningSetTimestepRange" => Class(name, "ConditioningSetTimestepRange", "advanced/conditioning", Req(("conditioning", Typed("CONDITIONING")),
            ("start", Float(0, 0, 1, 0.001)), ("end", Float(1, 0, 1, 0.001))), ["CONDITIONING"]),
        "ImageScaleToTotalPixels" => Class(name, "ImageScaleToTotalPixels", "image/upscaling", Req(("image", Typed("IMAGE")),
            ("upscale_method", Combo(ImageMethods)), ("megapixels", Float(1, 0.01, 16, 0.01))), ["IMAGE"]),
        "ImageToMask" => Class(name, "Convert Image to Mask", "mask", Req(("image", Typed("IMAGE")), ("channel", Combo(["red", "green", "blue", "alpha"]))), ["MASK"]),
        "MaskToImage" => Class(name, "Convert Mask to Image", "mask", Req(("mask", Typed("MASK"))), ["IMAGE"]),
        "ImageCompositeMasked" => Class(name, "ImageCompositeMasked", "image", Req(("destination", Typed("IMAGE")), ("source", Typed("IMAGE")),
            ("x", Int(0, 0, 16384)), ("y", Int(0, 0, 16384)), ("resize_source", Typed("BOOLEAN", new JsonObject { ["default"] = false }))), ["IMAGE"],
            optional: Req(("mask", Typed("MASK")))),
        "ImageCrop" => Class(name, "Image Crop", "image/transform", Req(("image", Typed("IMAGE")), ("width", Int(512, 1, 16384)),
            ("height", Int(512, 1, 16384)), ("x", Int(0, 0, 16384)), ("y", Int(0, 0, 16384))), ["IMAGE"]),
        "RepeatLatentBatch" => Class(name, "Repeat Latent Batch", "latent/batch", Req(("samples", Typed("LATENT")), ("amount", Int(1, 1, 64))), ["LATENT"]),
        "ConditioningConcat" => Class(name, "Conditioning (Concat)", "conditioning", Req(("conditioning_to", Typed("CONDITIONING")),
            ("conditioning_from", Typed("CONDITIONING"))), ["CONDITIONING"]),
        "ConditioningAverage" => Class(name, "Conditioning (Average)", "conditioning", Req(("conditioning_to", Typed("CONDITIONING")),
            ("conditioning_from", Typed("CONDITIONING")), ("conditioning_to_strength", Float(1, 0, 1, 0.01))), ["CONDITIONING"]),
        "LatentCompositeMasked" => Class(name, "LatentCompositeMasked", "latent", Req(("destination", Typed("LATENT")), ("source", Typed("LATENT")),
            ("x", Int(0, 0, 16384, 8)), ("y", Int(0, 0, 16384, 8)), ("resize_source", Typed("BOOLEAN", new JsonObject { ["default"] = false }))), ["LATENT"],
            optional: Req(("mask", Typed("MASK")))),
        "LatentComposite" => Class(name, "Latent Composite", "latent", Req(("samples_to", Typed("LATENT")), ("samples_from", Typed("LATENT")),
            ("x", Int(0, 0, 16384, 8)), ("y", Int(0, 0, 16384, 8)), ("feather", Int(0, 0, 16384, 8))), ["LATENT"]),
        "LatentCrop" => Class(name, "Crop Latent", "latent/transform", Req(("samples", Typed("LATENT")), ("width", Int(512, 64, 16384, 8)),
            ("height", Int(512, 64, 16384, 8)), ("x", Int(0, 0, 16384, 8)), ("y", Int(0, 0, 16384, 8))), ["LATENT"]),
        "LatentFromBatch" => Class(name, "Latent From Batch", "latent/batch", Req(("samples", Typed("LATENT")), ("batch_index", Int(0, 0, 63)),
            ("length", Int(1, 1, 64))), ["LATENT"]),
        "LatentConcat" => Class(name, "LatentConcat", "latent/advanced", Req(("samples1", Typed("LATENT")), ("samples2", Typed("LATENT")),
            ("dim", Combo(["x", "-x", "y", "-y", "t", "-t"]))), ["LATENT"]),
        "LatentCut" => Class(name, "LatentCut", "latent/advanced", Req(("samples", Typed("LATENT")), ("dim", Combo(["x", "y", "t"])),
            ("index", Int(0, -16384, 16384)), ("amount", Int(1, 1, 16384))), ["LATENT"]),
        "LatentCutToBatch" => Class(name, "LatentCutToBatch", "latent/advanced", Req(("samples", Typed("LATENT")), ("dim", Combo(["t", "x", "y"])),
            ("slice_size", Int(1, 1, 16384))), ["LATENT"]),
        "LatentBatch" => Class(name, "LatentBatch", "latent/batch", Req(("samples1", Typed("LATENT")), ("samples2", Typed("LATENT"))), ["LATENT"]),
        "ImageBatch" => Class(name, "Batch Images", "image", Req(("image1", Typed("IMAGE")), ("image2", Typed("IMAGE"))), ["IMAGE"]),
        "ImageFromBatch" => Class(name, "ImageFromBatch", "image/batch", Req(("image", Typed("IMAGE")), ("batch_index", Int(0, 0, 4095)),
            ("length", Int(1, 1, 4096))), ["IMAGE"]),
        "RepeatImageBatch" => Class(name, "RepeatImageBatch", "image/batch", Req(("image", Typed("IMAGE")), ("amount", Int(1, 1, 64))), ["IMAGE"]),
        "EmptyImage" => Class(name, "EmptyImage", "image", Req(("width", Int(512, 1, 16384)), ("height", Int(512, 1, 16384)),
            ("batch_size", Int(1, 1, 64)), ("color", new JsonArray("INT", new JsonObject { ["default"] = 0, ["min"] = 0, ["max"] = 0xFFFFFF, ["step"] = 1, ["display"] = "color" }))), ["IMAGE"]),
        "LatentFlip" => Class(name, "Flip Latent", "latent/transform", Req(("samples", Typed("LATENT")),
            ("flip_method", Combo(["x-axis: vertically", "y-axis: horizontally"]))), ["LATENT"]),
        "LatentRotate" => Class(name, "Rotate Latent", "latent/transform", Req(("samples", Typed("LATENT")),
            ("rotation", Combo(["none", "90 degrees", "180 degrees", "270 degrees"]))), ["LATENT"]),
        "ImageFlip" => Class(name, "ImageFlip", "image/transform", Req(("image", Typed("IMAGE")),
            ("flip_method", Combo(["x-axis: vertically", "y-axis: horizontally"]))), ["IMAGE"]),
        "ImageRotate" => Class(name, "ImageRotate", "image/transform", Req(("image", Typed("IMAGE")),
            ("rotation", Combo(["none", "90 degrees", "180 degrees", "270 degrees"]))), ["IMAGE"]),
        "MaskComposite" => Class(name, "MaskComposite", "mask", Req(("destination", Typed("MASK")), ("source", Typed("MASK")),
            ("x", Int(0, 0, 16384)), ("y", Int(0, 0, 16384)), ("operation", Combo(["multiply", "add", "subtract", "and", "or", "xor"]))), ["MASK"]),
        "CropMask" => Class(name, "CropMask", "mask", Req(("mask", Typed("MASK")), ("x", Int(0, 0, 16384)), ("y", Int(0, 0, 16384)),
            ("width", Int(512, 1, 16384)), ("height", Int(512, 1, 16384))), ["MASK"]),
        "FeatherMask" => Class(name, "FeatherMask", "mask", Req(("mask", Typed("MASK")), ("left", Int(0, 0, 16384)), ("top", Int(0, 0, 16384)),
            ("right", Int(0, 0, 16384)), ("bottom", Int(0, 0, 16384))), ["MASK"]),
        "LatentAdd" => Class(name, "LatentAdd", "latent/advanced", Req(("samples1", Typed("LATENT")), ("samples2", Typed("LATENT"))), ["LATENT"]),
        "LatentSubtract" => Class(name, "LatentSubtract", "latent/advanced", Req(("samples1", Typed("LATENT")), ("samples2", Typed("LATENT"))), ["LATENT"]),
        "LatentMultiply" => Class(name, "LatentMultiply", "latent/advanced", Req(("samples", Typed("LATENT")), ("multiplier", Float(1, -10, 10, 0.01))), ["LATENT"]),
        "LatentInterpolate" => Class(name, "LatentInterpolate", "latent/advanced", Req(("samples1", Typed("LATENT")), ("samples2", Typed("LATENT")),
            ("ratio", Float(1, 0, 1, 0.01))), ["LATENT"]),
        "LatentBatchSeedBehavior" => Class(name, "LatentBatchSeedBehavior", "latent/advanced", Req(("samples", Typed("LATENT")),
            ("seed_behavior", new JsonArray(new JsonArray("random", "fixed"), new JsonObject { ["default"] = "fixed" }))), ["LATENT"]),
        "ImageBlend" => Class(name, "Image Blend", "image/postprocessing", Req(("image1", Typed("IMAGE")), ("image2", Typed("IMAGE")),
            ("blend_factor", Float(0.5, 0, 1, 0.01)), ("blend_mode", Combo(["normal", "multiply", "screen", "overlay", "soft_light", "difference"]))), ["IMAGE"]),
        "ImageBlur" => Class(name, "Image Blur", "image/postprocessing", Req(("image", Typed("IMAGE")), ("blur_radius", Int(1, 1, 31)),
            ("sigma", Float(1, 0.1, 10, 0.1))), ["IMAGE"]),
        "ImageSharpen" => Class(name, "Image Sharpen", "image/postprocessing", Req(("image", Typed("IMAGE")), ("sharpen_radius", Int(1, 1, 31)),
            ("sigma", Float(1, 0.1, 10, 0.01)), ("alpha", Float(1, 0, 5, 0.01))), ["IMAGE"]),
        "VAELoader" => Class(name, "Load VAE", "loaders", Req(("vae_name", Combo(Vaes(folders)))), ["VAE"]),
        "UNETLoader" => Class(name, "Load Diffusion Model", "advanced/loaders",
            Req(("unet_name", Combo(Files(folders, "unet").Concat(Files(folders, "diffusion_models")).ToList())), ("weight_dtype", Combo(ApiPromptConverter.UNetWeightTypes))), ["MODEL"]),
        "CLIPLoader" => Class(name, "Load CLIP", "advanced/loaders",
            Req(("clip_name", Combo(Files(folders, "text_encoders").Concat(Files(folders, "clip")).ToList())), ("type", Combo(["stable_diffusion"]))), ["CLIP"]),
        "DualCLIPLoader" => Class(name, "DualCLIPLoader", "advanced/loaders",
            Req(("clip_name1", Combo(Files(folders, "text_encoders").Concat(Files(folders, "clip")).ToList())), ("clip_name2", Combo(Files(folders, "text_encoders").Concat(Files(folders, "clip")).ToList())),
                ("type", Combo(["sdxl"]))), ["CLIP"]),
        ApiPromptConverter.SaveImageWebsocketClass => Class(name, name, "image", Req(("images", Typed("IMAGE"))), [], output: true),
        "LatentUpscale" => Class(name, "Upscale Latent", "latent", Req(("samples", Typed("LATENT")),
            ("upscale_method", Combo(LatentMethods)), ("width", Int(512, 0, 16384, 8)),
            ("height", Int(512, 0, 16384, 8)), ("crop", Combo(["disabled", "center"]))), ["LATENT"]),
        "ImageScale" => Class(name, "Upscale Image", "image/upscaling", Req(("image", Typed("IMAGE")),
            ("upscale_method", Combo(ImageMethods)), ("width", Int(512, 0, 16384)),
            ("height", Int(512, 0, 16384)), ("crop", Combo(["disabled", "center"]))), ["IMAGE"]),
        "LatentUpscaleBy" => Class(name, "Upscale Latent By", "latent", Req(("samples", Typed("LATENT")),
            ("upscale_method", Combo(LatentMethods)), ("scale_by", Float(1.5, 0.01, 8, 0.01))), ["LATENT"]),
        "ImageScaleBy" => Class(name, "Upscale Image By", "image/upscaling", Req(("image", Typed("IMAGE")),
            ("upscale_method", Combo(ImageMethods)), ("scale_by", Float(1, 0.01, 8, 0.01))), ["IMAGE"]),
        "UpscaleModelLoader" => Class(name, "Load Upscale Model", "loaders",
            Req(("model_name", Combo(UpscaleModels(folders)))), ["UPSCALE_MODEL"]),
        "ImageUpscaleWithModel" => Class(name, "Upscale Image (using Model)", "image/upscaling",
            Req(("upscale_model", Typed("UPSCALE_MODEL")), ("image", Typed("IMAGE"))), ["IMAGE"]),
        "ImagePadForOutpaint" => Class(name, "Pad Image for Outpainting", "image", Req(("image", Typed("IMAGE")),
            ("left", Int(0, 0, 16384, 8)), ("top", Int(0, 0, 16384, 8)), ("right", Int(0, 0, 16384, 8)), ("bottom", Int(0, 0, 16384, 8)),
            ("feathering", Int(40, 0, 16384))), ["IMAGE", "MASK"]),
        "VAEDecodeTiled" => Class(name, "VAE Decode (Tiled)", "_for_testing", Req(("samples", Typed("LATENT")), ("vae", Typed("VAE")),
            ("tile_size", Int(512, 64, 4096, 32)), ("overlap", Int(64, 0, 4096, 32))), ["IMAGE"]),
        "VAEEncodeTiled" => Class(name, "VAE Encode (Tiled)", "_for_testing", Req(("pixels", Typed("IMAGE")), ("vae", Typed("VAE")),
            ("tile_size", Int(512, 64, 4096, 64)), ("overlap", Int(64, 0, 4096, 32))), ["LATENT"]),
        "ConditioningSetArea" => Class(name, "Conditioning (Set Area)", "conditioning", Req(("conditioning", Typed("CONDITIONING")),
            ("width", Int(64, 64, 16384, 8)), ("height", Int(64, 64, 16384, 8)), ("x", Int(0, 0, 16384, 8)), ("y", Int(0, 0, 16384, 8)),
            ("strength", Float(1, 0, 10, 0.01))), ["CONDITIONING"]),
        "ConditioningSetAreaPercentage" => Class(name, "Conditioning (Set Area with Percentage)", "conditioning", Req(("conditioning", Typed("CONDITIONING")),
            ("width", Float(1, 0, 1, 0.01)), ("height", Float(1, 0, 1, 0.01)), ("x", Float(0, 0, 1, 0.01)), ("y", Float(0, 0, 1, 0.01)),
            ("strength", Float(1, 0, 10, 0.01))), ["CONDITIONING"]),
        "LatentBlend" => Class(name, "Latent Blend", "_for_testing", Req(("samples1", Typed("LATENT")), ("samples2", Typed("LATENT")),
            ("blend_factor", Float(0.5, 0, 1, 0.01))), ["LATENT"]),
        "PerpNegGuider" => Class(name, "PerpNegGuider", "_for_testing", Req(("model", Typed("MODEL")), ("positive", Typed("CONDITIONING")),
            ("negative", Typed("CONDITIONING")), ("empty_conditioning", Typed("CONDITIONING")), ("cfg", Float(8, 0, 100, 0.1)), ("neg_scale", Float(1, 0, 100, 0.01))),
            ["GUIDER"]),
        "DualCFGGuider" => Class(name, "Dual CFG Guider", "sampling/guiders", Req(("model", Typed("MODEL")), ("cond1", Typed("CONDITIONING")),
            ("cond2", Typed("CONDITIONING")), ("negative", Typed("CONDITIONING")), ("cfg_conds", Float(8, 0, 100, 0.1)), ("cfg_cond2_negative", Float(8, 0, 100, 0.1)),
            ("style", Combo(["regular", "nested"]))), ["GUIDER"]),
        "APG" => Class(name, "Adaptive Projected Guidance", "sampling/custom_sampling", Req(("model", Typed("MODEL")), ("eta", Float(1, -10, 10, 0.01, rounded: false)),
            ("norm_threshold", Float(5, 0, 50, 0.1, rounded: false)), ("momentum", Float(0, -5, 1, 0.01, rounded: false))), ["MODEL"]),
        "CFGZeroStar" => Class(name, name, "advanced/guidance", Req(("model", Typed("MODEL"))), ["MODEL"], names: ["patched_model"]),
        "CFGNorm" => Class(name, name, "advanced/guidance", Req(("model", Typed("MODEL")), ("strength", Float(1, 0, 100, 0.01, rounded: false))), ["MODEL"],
            names: ["patched_model"]),
        "DifferentialDiffusion" => Class(name, "Differential Diffusion", "_for_testing", Req(("model", Typed("MODEL"))), ["MODEL"],
            optional: Req(("strength", Float(1, 0, 1, 0.01)))),
        "ConditioningSetAreaStrength" => Class(name, "ConditioningSetAreaStrength", "conditioning", Req(("conditioning", Typed("CONDITIONING")),
            ("strength", Float(1, 0, 10, 0.01))), ["CONDITIONING"]),
        "ConditioningSetMask" => Class(name, "Conditioning (Set Mask)", "conditioning", Req(("conditioning", Typed("CONDITIONING")), ("mask", Typed("MASK")),
            ("strength", Float(1, 0, 10, 0.01)), ("set_cond_area", Combo(["default", "mask bounds"]))), ["CONDITIONING"]),
        "ControlNetLoader" => Class(name, "Load ControlNet Model", "loaders", Req(("control_net_name", Combo(Files(folders, "controlnet")))), ["CONTROL_NET"]),
        "DiffControlNetLoader" => Class(name, "Load ControlNet Model (diff)", "loaders", Req(("model", Typed("MODEL")), ("control_net_name", Combo(Files(folders, "controlnet")))), ["CONTROL_NET"]),
        "ControlNetApply" => Class(name, "Apply ControlNet (OLD)", "conditioning/controlnet", Req(("conditioning", Typed("CONDITIONING")),
            ("control_net", Typed("CONTROL_NET")), ("image", Typed("IMAGE")), ("strength", Float(1, 0, 10, 0.01))), ["CONDITIONING"]),
        "ControlNetApplyAdvanced" => Class(name, "Apply ControlNet", "conditioning/controlnet", Req(("positive", Typed("CONDITIONING")),
            ("negative", Typed("CONDITIONING")), ("control_net", Typed("CONTROL_NET")), ("image", Typed("IMAGE")), ("strength", Float(1, 0, 10, 0.01)),
            ("start_percent", Float(0, 0, 1, 0.001)), ("end_percent", Float(1, 0, 1, 0.001))), ["CONDITIONING", "CONDITIONING"], names: ["positive", "negative"]),
        "ACN_ScaledSoftControlNetWeights" => Class(name, "Scaled Soft Weights 🛂🅐🅒🅝", "Adv-ControlNet 🛂🅐🅒🅝/weights", Req(("base_multiplier", Float(0.825, 0, 1, 0.001))),
            ["CONTROL_NET_WEIGHTS", "TIMESTEP_KEYFRAME"], names: ["CN_WEIGHTS", "TK_SHORTCUT"], optional: Req(("uncond_multiplier", Float(1, 0, 1, 0.01)))),
        "ACN_AdvancedControlNetApply_v2" => Class(name, "Apply Advanced ControlNet 🛂🅐🅒🅝", "Adv-ControlNet 🛂🅐🅒🅝", Req(("positive", Typed("CONDITIONING")),
            ("negative", Typed("CONDITIONING")), ("control_net", Typed("CONTROL_NET")), ("image", Typed("IMAGE")), ("strength", Float(1, 0, 10, 0.01)),
            ("start_percent", Float(0, 0, 1, 0.001)), ("end_percent", Float(1, 0, 1, 0.001))), ["CONDITIONING", "CONDITIONING"], names: ["positive", "negative"],
            optional: Req(("weights_override", Typed("CONTROL_NET_WEIGHTS")), ("vae_optional", Typed("VAE")))),
        "SetUnionControlNetType" => Class(name, name, "conditioning/controlnet", Req(("control_net", Typed("CONTROL_NET")),
            ("type", Combo(FlowDiffusion.Diffusion.Onnx.UnionControlTypes.Choices))), ["CONTROL_NET"]),
        "DWPreprocessor" => Class(name, "DWPose Estimator", "ControlNet Preprocessors/Faces and Poses Estimators", Req(("image", Typed("IMAGE")),
            ("detect_hand", Combo(["enable", "disable"])), ("detect_body", Combo(["enable", "disable"])), ("detect_face", Combo(["enable", "disable"])),
            ("resolution", Int(512, 64, 16384, 64)),
            ("bbox_detector", Combo(Files(folders, "annotators").Where(f => f.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)).ToList())),
            ("pose_estimator", Combo(Files(folders, "annotators").Where(f => f.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)).ToList()))), ["IMAGE"]),
        "Canny" => Class(name, "Canny", "image/preprocessors", Req(("image", Typed("IMAGE")), ("low_threshold", Float(0.4, 0.01, 0.99, 0.01)),
            ("high_threshold", Float(0.8, 0.01, 0.99, 0.01))), ["IMAGE"]),
        "TilePreprocessor" => Class(name, "Tile", "ControlNet Preprocessors/tile", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("pyrUp_iters", Int(3, 1, 10)), ("resolution", AuxResolution()))),
        "ColorPreprocessor" => Class(name, "Color Pallete", "ControlNet Preprocessors/T2IAdapter-only", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("resolution", AuxResolution()))),
        "BinaryPreprocessor" => Class(name, "Binary Lines", "ControlNet Preprocessors/Line Extractors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("bin_threshold", Int(100, 0, 255)), ("resolution", AuxResolution()))),
        "LineartStandardPreprocessor" => Class(name, "Standard Lineart", "ControlNet Preprocessors/Line Extractors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("guassian_sigma", Float(6, 0, 100, 0.01)), ("intensity_threshold", Int(8, 0, 16)), ("resolution", AuxResolution()))),
        "Scribble_XDoG_Preprocessor" => Class(name, "Scribble XDoG Lines", "ControlNet Preprocessors/Line Extractors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("threshold", Int(32, 1, 64)), ("resolution", AuxResolution()))),
        "CannyEdgePreprocessor" => Class(name, "Canny Edge", "ControlNet Preprocessors/Line Extractors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("low_threshold", Int(100, 0, 255)), ("high_threshold", Int(200, 0, 255)), ("resolution", AuxResolution()))),
        ApiPromptConverter.A1111MaskedFillClass => Class(name, "Masked Fill (A1111)", "FlowDiffusion/inpaint", Req(("image", Typed("IMAGE")), ("mask", Typed("MASK"))), ["IMAGE"]),
        "ImageIntensityDetector" => Class(name, "Image Intensity", "ControlNet Preprocessors/Recolor", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("gamma_correction", Float(1, 0.1, 2, 0.01)), ("resolution", AuxResolution()))),
        "ImageLuminanceDetector" => Class(name, "Image Luminance", "ControlNet Preprocessors/Recolor", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("gamma_correction", Float(1, 0.1, 2, 0.01)), ("resolution", AuxResolution()))),
        ApiPromptConverter.A1111RecolorClass => Class(name, "Recolor (A1111 recolor_luminance, recolor_intensity)", "FlowDiffusion/preprocessors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("mode", Combo(["luminance", "intensity"])), ("gamma_correction", Float(1, 0.1, 2, 0.001)))),
        "ScribblePreprocessor" => Class(name, "Scribble Lines", "ControlNet Preprocessors/Line Extractors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("resolution", AuxResolution()))),
        "ShufflePreprocessor" => Class(name, "Content Shuffle", "ControlNet Preprocessors/T2IAdapter-only", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("resolution", AuxResolution()), ("seed", Seed()))),
        ApiPromptConverter.A1111ShuffleClass => Class(name, "Content Shuffle (A1111 shuffle)", "FlowDiffusion/preprocessors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("resolution", Int(512, 1, 16384)), ("seed", Int(0, 0, uint.MaxValue)))),
        ApiPromptConverter.A1111BlurGaussianClass => Class(name, "Gaussian Blur (A1111 blur_gaussian)", "FlowDiffusion/preprocessors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("resolution", Int(512, 1, 16384)), ("sigma", Float(9, 0.01, 64, 0.01)))),
        ApiPromptConverter.AioPreprocessorClass => Class(name, "AIO Aux Preprocessor", "ControlNet Preprocessors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("preprocessor", Combo(ApiPromptConverter.AioPreprocessors)), ("resolution", AuxResolution()))),
        "HEDPreprocessor" => Class(name, "HED Soft-Edge Lines", "ControlNet Preprocessors/Line Extractors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("safe", Combo(["enable", "disable"])), ("resolution", AuxResolution()))),
        "OpenposePreprocessor" => Class(name, "OpenPose Pose", "ControlNet Preprocessors/Faces and Poses Estimators", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("detect_hand", Combo(["disable", "enable"])), ("detect_body", Combo(["enable", "disable"])), ("detect_face", Combo(["disable", "enable"])),
                ("resolution", AuxResolution()), ("scale_stick_for_xinsr_cn", Combo(["disable", "enable"])))),
        "FakeScribblePreprocessor" => Class(name, "Fake Scribble Lines (aka scribble_hed)", "ControlNet Preprocessors/Line Extractors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("safe", Combo(["enable", "disable"])), ("resolution", AuxResolution()))),
        "LineArtPreprocessor" => Class(name, "Realistic Lineart", "ControlNet Preprocessors/Line Extractors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("coarse", Combo(["disable", "enable"])), ("resolution", AuxResolution()))),
        "AnimeLineArtPreprocessor" => Class(name, "Anime Lineart", "ControlNet Preprocessors/Line Extractors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("resolution", AuxResolution()))),
        "M-LSDPreprocessor" => Class(name, "M-LSD Lines", "ControlNet Preprocessors/Line Extractors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("score_threshold", Float(0.1, 0.01, 2, 0.01)), ("dist_threshold", Float(0.1, 0.01, 20, 0.01)), ("resolution", AuxResolution()))),
        ApiPromptConverter.A1111ScribbleHedClass => Class(name, "HED Scribble (A1111 scribble_hed)", "FlowDiffusion/preprocessors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("safe", Combo(["disable", "enable"])), ("resolution", AuxResolution()))),
        "PiDiNetPreprocessor" => Class(name, "PiDiNet Soft-Edge Lines", "ControlNet Preprocessors/Line Extractors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("safe", Combo(["enable", "disable"])), ("resolution", AuxResolution()))),
        ApiPromptConverter.A1111ScribblePidinetClass => Class(name, "PiDiNet Scribble (A1111 scribble_pidinet)", "FlowDiffusion/preprocessors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("safe", Combo(["disable", "enable"])), ("resolution", AuxResolution()))),
        ApiPromptConverter.A1111SketchPidinetClass => Class(name, "PiDiNet Sketch (A1111 t2ia_sketch_pidi)", "FlowDiffusion/preprocessors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("resolution", AuxResolution()))),
        "TEEDPreprocessor" => Class(name, "TEED Soft-Edge Lines", "ControlNet Preprocessors/Line Extractors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("safe_steps", Int(2, 0, 10)), ("resolution", AuxResolution()))),
        "AnyLineArtPreprocessor_aux" => Class(name, "AnyLine Lineart", "ControlNet Preprocessors/Line Extractors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("merge_with_lineart", Combo(ApiPromptConverter.AnylineLinearts)), ("resolution", Int(ApiPromptConverter.AnylineDefaultResolution, 64, 16384, 8)),
                ("lineart_lower_bound", Float(0, 0, 1, 0.01)), ("lineart_upper_bound", Float(1, 0, 1, 0.01)), ("object_min_size", Int(36, 1, 16384)), ("object_connectivity", Int(1, 1, 16384)))),
        "Manga2Anime_LineArt_Preprocessor" => Class(name, "Manga Lineart (aka lineart_anime_denoise)", "ControlNet Preprocessors/Line Extractors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("resolution", AuxResolution()))),
        ApiPromptConverter.A1111LineartAnimeDenoiseClass => Class(name, "Manga Lineart (A1111 lineart_anime_denoise)", "FlowDiffusion/preprocessors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("resolution", AuxResolution()))),
        "DepthAnythingPreprocessor" => Class(name, "Depth Anything", "ControlNet Preprocessors/Normal and Depth Estimators", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("ckpt_name", Combo(ApiPromptConverter.DepthAnythingFiles)), ("resolution", AuxResolution()))),
        "DepthAnythingV2Preprocessor" => Class(name, "Depth Anything V2 - Relative", "ControlNet Preprocessors/Normal and Depth Estimators", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("ckpt_name", Combo(ApiPromptConverter.DepthAnythingV2Files)), ("resolution", AuxResolution()))),
        ApiPromptConverter.A1111DepthAnythingClass => Class(name, "Depth Anything (A1111 depth_anything)", "FlowDiffusion/preprocessors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("version", Combo(["v1", "v2"])), ("resolution", AuxResolution()))),
        "BAE-NormalMapPreprocessor" => Class(name, "BAE Normal Map", "ControlNet Preprocessors/Normal and Depth Estimators", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("resolution", AuxResolution()))),
        "LeReS-DepthMapPreprocessor" => Class(name, "LeReS Depth Map (enable boost for leres++)", "ControlNet Preprocessors/Normal and Depth Estimators", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("rm_nearest", Float(0, 0, 100, 0.01)), ("rm_background", Float(0, 0, 100, 0.01)), ("boost", Combo(["disable", "enable"])), ("resolution", AuxResolution()))),
        "MiDaS-DepthMapPreprocessor" => Class(name, "MiDaS Depth Map", "ControlNet Preprocessors/Normal and Depth Estimators", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("a", Float(Math.PI * 2, 0, Math.PI * 5, 0.05, rounded: false)), ("bg_threshold", Float(0.1, 0, 1, 0.05, rounded: false)), ("resolution", AuxResolution()))),
        "MiDaS-NormalMapPreprocessor" => Class(name, "MiDaS Normal Map", "ControlNet Preprocessors/Normal and Depth Estimators", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("a", Float(Math.PI * 2, 0, Math.PI * 5, 0.05, rounded: false)), ("bg_threshold", Float(0.1, 0, 1, 0.05, rounded: false)), ("resolution", AuxResolution()))),
        ApiPromptConverter.A1111NormalMidasClass => Class(name, "MiDaS Normal Map (A1111 normal_midas)", "FlowDiffusion/preprocessors", Req(("image", Typed("IMAGE"))), ["IMAGE"],
            optional: Req(("bg_threshold", Float(0.4, 0, 1, 0.01, rounded: false)), ("resolution", AuxResolution()))),
        "InpaintPreprocessor" => Class(name, "Inpaint Preprocessor", "ControlNet Preprocessors/others", Req(("image", Typed("IMAGE")), ("mask", Typed("MASK"))), ["IMAGE"],
            optional: Req(("black_pixel_for_xinsir_cn", Flag(false)))),
        "PrimitiveInt" => Class(name, "Int", "utils/primitive",
            Req(("value", new JsonArray("INT", new JsonObject { ["min"] = -MaxInt, ["max"] = MaxInt, ["control_after_generate"] = true }))), ["INT"]),
        "PrimitiveFloat" => Class(name, "Float", "utils/primitive", Req(("value", new JsonArray("FLOAT", new JsonObject { ["min"] = -MaxInt, ["max"] = MaxInt, ["step"] = 0.1 }))), ["FLOAT"]),
        "PrimitiveString" => Class(name, "String", "utils/primitive", Req(("value", Typed("STRING"))), ["STRING"]),
        "PrimitiveStringMultiline" => Class(name, "String (Multiline)", "utils/primitive", Req(("value", Text())), ["STRING"]),
        "PrimitiveBoolean" => Class(name, "Boolean", "utils/primitive", Req(("value", Typed("BOOLEAN"))), ["BOOLEAN"]),
        "StringConcatenate" => Class(name, "Concatenate", "utils/string",
            Req(("string_a", Text()), ("string_b", Text()), ("delimiter", Typed("STRING", new JsonObject { ["multiline"] = false, ["default"] = "" }))), ["STRING"]),
        "StringSubstring" => Class(name, "Substring", "utils/string", Req(("string", Text()), ("start", Int(0, -MaxInt, MaxInt)), ("end", Int(0, -MaxInt, MaxInt))), ["STRING"]),
        "StringLength" => Class(name, "Length", "utils/string", Req(("string", Text())), ["INT"], names: ["length"]),
        "CaseConverter" => Class(name, "Case Converter", "utils/string", Req(("string", Text()), ("mode", Combo(["UPPERCASE", "lowercase", "Capitalize", "Title Case"]))), ["STRING"]),
        "StringTrim" => Class(name, "Trim", "utils/string", Req(("string", Text()), ("mode", Combo(["Both", "Left", "Right"]))), ["STRING"]),
        "StringReplace" => Class(name, "Replace", "utils/string", Req(("string", Text()), ("find", Text()), ("replace", Text())), ["STRING"]),
        "StringContains" => Class(name, "Contains", "utils/string", Req(("string", Text()), ("substring", Text()),
            ("case_sensitive", Typed("BOOLEAN", new JsonObject { ["default"] = true }))), ["BOOLEAN"], names: ["contains"]),
        "StringCompare" => Class(name, "Compare", "utils/string", Req(("string_a", Text()), ("string_b", Text()), ("mode", Combo(["Starts With", "Ends With", "Equal"])),
            ("case_sensitive", Typed("BOOLEAN", new JsonObject { ["default"] = true }))), ["BOOLEAN"]),
        "ModelMergeSimple" => Class(name, "ModelMergeSimple", "advanced/model_merging", Req(("model1", Typed("MODEL")), ("model2", Typed("MODEL")),
            ("ratio", Float(1, 0, 1, 0.01))), ["MODEL"]),
        "ModelMergeBlocks" => Class(name, "ModelMergeBlocks", "advanced/model_merging", Req(("model1", Typed("MODEL")), ("model2", Typed("MODEL")),
            ("input", Float(1, 0, 1, 0.01)), ("middle", Float(1, 0, 1, 0.01)), ("out", Float(1, 0, 1, 0.01))), ["MODEL"]),
        "ModelMergeSD1" or "ModelMergeSD2" or "ModelMergeSDXL" => Class(name, name, "advanced/model_merging/model_specific",
            Req([("model1", Typed("MODEL")), ("model2", Typed("MODEL")), .. ApiPromptConverter.ModelMergeBlockPrefixes(name)!.Select(p => (p, (JsonNode)Float(1, 0, 1, 0.01)))]),
            ["MODEL"]),
        "UNetSelfAttentionMultiply" or "UNetCrossAttentionMultiply" or "CLIPAttentionMultiply" => Class(name, name, "_for_testing/attention_experiments",
            Req(name == "CLIPAttentionMultiply" ? ("clip", Typed("CLIP")) : ("model", Typed("MODEL")), ("q", Float(1, 0, 10, 0.01)), ("k", Float(1, 0, 10, 0.01)),
                ("v", Float(1, 0, 10, 0.01)), ("out", Float(1, 0, 10, 0.01))), [name == "CLIPAttentionMultiply" ? "CLIP" : "MODEL"]),
        "ModelMergeSubtract" => Class(name, "ModelMergeSubtract", "advanced/model_merging", Req(("model1", Typed("MODEL")), ("model2", Typed("MODEL")),
            ("multiplier", Float(1, -10, 10, 0.01))), ["MODEL"]),
        "ModelMergeAdd" => Class(name, "ModelMergeAdd", "advanced/model_merging", Req(("model1", Typed("MODEL")), ("model2", Typed("MODEL"))), ["MODEL"]),
        "CLIPMergeSimple" => Class(name, "CLIPMergeSimple", "advanced/model_merging", Req(("clip1", Typed("CLIP")), ("clip2", Typed("CLIP")),
            ("ratio", Float(1, 0, 1, 0.01))), ["CLIP"]),
        "CLIPMergeSubtract" => Class(name, "CLIPMergeSubtract", "advanced/model_merging", Req(("clip1", Typed("CLIP")), ("clip2", Typed("CLIP")),
            ("multiplier", Float(1, -10, 10, 0.01))), ["CLIP"]),
        "CLIPMergeAdd" => Class(name, "CLIPMergeAdd", "advanced/model_merging", Req(("clip1", Typed("CLIP")), ("clip2", Typed("CLIP"))), ["CLIP"]),
        "FlipSigmas" => Class(name, name, "sampling/custom_sampling/sigmas", Req(("sigmas", Typed("SIGMAS"))), ["SIGMAS"]),
        "ManualSigmas" => Class(name, name, "_for_testing/custom_sampling", Req(("sigmas", Typed("STRING", new JsonObject { ["multiline"] = false, ["default"] = "1, 0.5" }))),
            ["SIGMAS"]),
        "ExtendIntermediateSigmas" => Class(name, name, "sampling/custom_sampling/sigmas", Req(("sigmas", Typed("SIGMAS")), ("steps", Int(2, 1, SigmaEdits.MaxExtendSteps)),
            ("start_at_sigma", Float(-1, -1, SigmaEdits.MaxFirstSigma, 0.01, rounded: false)), ("end_at_sigma", Float(12, 0, SigmaEdits.MaxFirstSigma, 0.01, rounded: false)),
            ("spacing", Combo(SigmaEdits.Spacings))), ["SIGMAS"]),
        "AddNoise" => Class(name, name, "_for_testing/custom_sampling/noise", Req(("model", Typed("MODEL")), ("noise", Typed("NOISE")), ("sigmas", Typed("SIGMAS")),
            ("latent_image", Typed("LATENT"))), ["LATENT"]),
        "SaveLatent" => Class(name, "SaveLatent", "_for_testing",
            Req(("samples", Typed("LATENT")), ("filename_prefix", Typed("STRING", new JsonObject { ["default"] = "latents/ComfyUI" }))), [], output: true),
        "LoadLatent" => Class(name, "LoadLatent", "_for_testing", Req(("latent", Combo(Latents(folders)))), ["LATENT"]),
        "ImageColorToMask" => Class(name, "ImageColorToMask", "mask", Req(("image", Typed("IMAGE")),
            ("color", new JsonArray("INT", new JsonObject { ["default"] = 0, ["min"] = 0, ["max"] = 0xFFFFFF, ["step"] = 1, ["display"] = "color" }))), ["MASK"]),
        "Morphology" => Class(name, "ImageMorphology", "image/postprocessing", Req(("image", Typed("IMAGE")),
            ("operation", Combo(["erode", "dilate", "open", "close", "gradient", "bottom_hat", "top_hat"])), ("kernel_size", Int(3, 3, 999))), ["IMAGE"]),
        "ImageRGBToYUV" => Class(name, "Image RGB to YUV", "image/batch", Req(("image", Typed("IMAGE"))), ["IMAGE", "IMAGE", "IMAGE"], names: ["Y", "U", "V"]),
        "ImageYUVToRGB" => Class(name, "Image YUV to RGB", "image/batch", Req(("Y", Typed("IMAGE")), ("U", Typed("IMAGE")), ("V", Typed("IMAGE"))), ["IMAGE"]),
        "PorterDuffImageComposite" => Class(name, "Porter-Duff Image Composite", "mask/compositing", Req(("source", Typed("IMAGE")), ("source_alpha", Typed("MASK")),
            ("destination", Typed("IMAGE")), ("destination_alpha", Typed("MASK")),
            ("mode", new JsonArray(Names(["ADD", "CLEAR", "DARKEN", "DST", "DST_ATOP", "DST_IN", "DST_OUT", "DST_OVER", "LIGHTEN", "MULTIPLY", "OVERLAY", "SCREEN", "SRC",
                "SRC_ATOP", "SRC_IN", "SRC_OUT", "SRC_OVER", "XOR"]), new JsonObject { ["default"] = "DST" }))), ["IMAGE", "MASK"]),
        "SplitImageWithAlpha" => Class(name, "Split Image with Alpha", "mask/compositing", Req(("image", Typed("IMAGE"))), ["IMAGE", "MASK"]),
        "JoinImageWithAlpha" => Class(name, "Join Image with Alpha", "mask/compositing", Req(("image", Typed("IMAGE")), ("alpha", Typed("MASK"))), ["IMAGE"]),
        "ImageStitch" => Class(name, "Image Stitch", "image/transform", Req(("image1", Typed("IMAGE")),
            ("direction", new JsonArray(Names(["right", "down", "left", "up"]), new JsonObject { ["default"] = "right" })),
            ("match_image_size", Typed("BOOLEAN", new JsonObject { ["default"] = true })), ("spacing_width", Int(0, 0, 1024, 2)),
            ("spacing_color", new JsonArray(Names(["white", "black", "red", "green", "blue"]), new JsonObject { ["default"] = "white" }))), ["IMAGE"],
            optional: Req(("image2", Typed("IMAGE")))),
        "ResizeAndPadImage" => Class(name, "ResizeAndPadImage", "image/transform", Req(("image", Typed("IMAGE")), ("target_width", Int(512, 1, 16384)),
            ("target_height", Int(512, 1, 16384)), ("padding_color", Combo(["white", "black"])),
            ("interpolation", Combo(["area", "bicubic", "nearest-exact", "bilinear", "lanczos"]))), ["IMAGE"]),
        "RegexMatch" => Class(name, "Regex Match", "utils/string", Req(("string", Text()), ("regex_pattern", Text()), ("case_insensitive", Flag(true)),
            ("multiline", Flag(false)), ("dotall", Flag(false))), ["BOOLEAN"], names: ["matches"]),
        "RegexExtract" => Class(name, "Regex Extract", "utils/string", Req(("string", Text()), ("regex_pattern", Text()),
            ("mode", Combo(["First Match", "All Matches", "First Group", "All Groups"])), ("case_insensitive", Flag(true)), ("multiline", Flag(false)),
            ("dotall", Flag(false)), ("group_index", Int(1, 0, 100))), ["STRING"]),
        "RegexReplace" => Class(name, "Regex Replace", "utils/string", Req(("string", Text()), ("regex_pattern", Text()), ("replace", Text())), ["STRING"],
            optional: Req(("case_insensitive", Flag(true)), ("multiline", Flag(false)), ("dotall", Flag(false)), ("count", Int(0, 0, 100)))),
        "CheckpointSave" => Class(name, "Save Checkpoint", "advanced/model_merging", Req(("model", Typed("MODEL")), ("clip", Typed("CLIP")), ("vae", Typed("VAE")),
            ("filename_prefix", Typed("STRING", new JsonObject { ["default"] = "checkpoints/ComfyUI" }))), [], output: true),
        "ModelSave" => Class(name, "ModelSave", "advanced/model_merging", Req(("model", Typed("MODEL")),
            ("filename_prefix", Typed("STRING", new JsonObject { ["default"] = "diffusion_models/ComfyUI" }))), [], output: true),
        "VAESave" => Class(name, "VAESave", "advanced/model_merging", Req(("vae", Typed("VAE")),
            ("filename_prefix", Typed("STRING", new JsonObject { ["default"] = "vae/ComfyUI_vae" }))), [], output: true),
        "CLIPSave" => Class(name, "CLIPSave", "advanced/model_merging", Req(("clip", Typed("CLIP")),
            ("filename_prefix", Typed("STRING", new JsonObject { ["default"] = "clip/ComfyUI" }))), [], output: true),
        "CLIPVisionLoader" => Class(name, "Load CLIP Vision", "loaders", Req(("clip_name", Combo(Files(folders, "clip_vision")))), ["CLIP_VISION"]),
        "CLIPVisionEncode" => Class(name, "CLIP Vision Encode", "conditioning", Req(("clip_vision", Typed("CLIP_VISION")), ("image", Typed("IMAGE")),
            ("crop", Combo(["center", "none"]))), ["CLIP_VISION_OUTPUT"]),
        "IPAdapterModelLoader" => Class(name, "IPAdapter Model Loader", "ipadapter/loaders",
            Req(("ipadapter_file", Combo([.. IpAdapterPresets.ListedFiles(Files(folders, "ipadapter"))]))), ["IPADAPTER"]),
        "IPAdapterUnifiedLoader" => Class(name, "IPAdapter Unified Loader", "ipadapter", Req(("model", Typed("MODEL")), ("preset", Combo(IpAdapterPresets.Names))),
            ["MODEL", "IPADAPTER"], names: ["model", "ipadapter"], optional: Req(("ipadapter", Typed("IPADAPTER")))),
        "IPAdapter" => Class(name, "IPAdapter", "ipadapter", Req(("model", Typed("MODEL")), ("ipadapter", Typed("IPADAPTER")), ("image", Typed("IMAGE")),
            ("weight", Float(1, -1, 3, 0.05)), ("start_at", Float(0, 0, 1, 0.001)), ("end_at", Float(1, 0, 1, 0.001)),
            ("weight_type", Combo(ApiPromptConverter.SimpleWeightTypes))), ["MODEL"], optional: Req(("attn_mask", Typed("MASK")))),
        "IPAdapterAdvanced" => Class(name, "IPAdapter Advanced", "ipadapter", Req(("model", Typed("MODEL")), ("ipadapter", Typed("IPADAPTER")), ("image", Typed("IMAGE")),
            ("weight", Float(1, -1, 5, 0.05)), ("weight_type", Combo(ApiPromptConverter.PackWeightTypes)),
            ("combine_embeds", Combo(ApiPromptConverter.CombineModes)), ("start_at", Float(0, 0, 1, 0.001)), ("end_at", Float(1, 0, 1, 0.001)),
            ("embeds_scaling", Combo(ApiPromptConverter.EmbedsScalings))), ["MODEL"],
            optional: Req(("image_negative", Typed("IMAGE")), ("attn_mask", Typed("MASK")), ("clip_vision", Typed("CLIP_VISION")))),
        "FreeU" or "FreeU_V2" => Class(name, name, "model_patches/unet", Req(("model", Typed("MODEL")),
            ("b1", Float(name == "FreeU" ? 1.1 : 1.3, 0, 10, 0.01)), ("b2", Float(name == "FreeU" ? 1.2 : 1.4, 0, 10, 0.01)),
            ("s1", Float(0.9, 0, 10, 0.01)), ("s2", Float(0.2, 0, 10, 0.01))), ["MODEL"]),
        "PatchModelAddDownscale" => Class(name, "PatchModelAddDownscale (Kohya Deep Shrink)", "_for_testing", Req(("model", Typed("MODEL")),
            ("block_number", Int(3, 1, 32)), ("downscale_factor", Float(2, 0.1, 9, 0.001)), ("start_percent", Float(0, 0, 1, 0.001)),
            ("end_percent", Float(0.35, 0, 1, 0.001)), ("downscale_after_skip", Typed("BOOLEAN", new JsonObject { ["default"] = true })),
            ("downscale_method", Combo(ApiPromptConverter.DeepShrinkMethods)), ("upscale_method", Combo(ApiPromptConverter.DeepShrinkMethods))), ["MODEL"]),
        "HyperTile" => Class(name, name, "model_patches/unet", Req(("model", Typed("MODEL")), ("tile_size", Int(256, 1, 2048)), ("swap_size", Int(2, 1, 128)),
            ("max_depth", Int(0, 0, 10)), ("scale_depth", Typed("BOOLEAN", new JsonObject { ["default"] = false }))), ["MODEL"]),
        "TomePatchModel" => Class(name, name, "_for_testing", Req(("model", Typed("MODEL")), ("ratio", Float(0.3, 0, 1, 0.01))), ["MODEL"]),
        "PerturbedAttentionGuidance" => Class(name, name, "_for_testing", Req(("model", Typed("MODEL")), ("scale", Float(3, 0, 100, 0.1))), ["MODEL"]),
        "SelfAttentionGuidance" => Class(name, "Self-Attention Guidance", "_for_testing",
            Req(("model", Typed("MODEL")), ("scale", Float(0.5, -2, 5, 0.01)), ("blur_sigma", Float(2, 0, 10, 0.1))), ["MODEL"]),
        "Mahiro" => Class(name, "Mahiro is so cute that she deserves a better guidance function!! (。・ω・。)", "_for_testing", Req(("model", Typed("MODEL"))), ["MODEL"],
            names: ["patched_model"]),
        "TCFG" => Class(name, "Tangential Damping CFG", "advanced/guidance", Req(("model", Typed("MODEL"))), ["MODEL"], names: ["patched_model"]),
        "Epsilon Scaling" => Class(name, name, "model/patch/unet", Req(("model", Typed("MODEL")), ("scaling_factor", Float(1.005, 0.5, 1.5, 0.001, rounded: false))), ["MODEL"]),
        "LatentApplyOperation" => Class(name, name, "latent/advanced/operations", Req(("samples", Typed("LATENT")), ("operation", Typed("LATENT_OPERATION"))), ["LATENT"]),
        "LatentApplyOperationCFG" => Class(name, name, "latent/advanced/operations", Req(("model", Typed("MODEL")), ("operation", Typed("LATENT_OPERATION"))), ["MODEL"]),
        "LatentOperationTonemapReinhard" => Class(name, name, "latent/advanced/operations", Req(("multiplier", Float(1, 0, 100, 0.01))), ["LATENT_OPERATION"]),
        "LatentOperationSharpen" => Class(name, name, "latent/advanced/operations", Req(("sharpen_radius", Int(9, 1, 31)), ("sigma", Float(1, 0.1, 10, 0.1)),
            ("alpha", Float(0.1, 0, 5, 0.01))), ["LATENT_OPERATION"]),
        "ImageAddNoise" => Class(name, name, "image", Req(("image", Typed("IMAGE")), ("seed", Int(0, 0, MaxSeed)), ("strength", Float(0.5, 0, 1, 0.01, rounded: false))), ["IMAGE"]),
        "ImageScaleToMaxDimension" => Class(name, name, "image/upscaling", Req(("image", Typed("IMAGE")), ("upscale_method", Combo(ApiPromptConverter.MaxDimensionMethods)),
            ("largest_size", Int(512, 0, 16384))), ["IMAGE"]),
        "GetImageSize" => Class(name, "Get Image Size", "image", Req(("image", Typed("IMAGE"))), ["INT", "INT", "INT"], names: ["width", "height", "batch_size"]),
        "InstructPixToPixConditioning" => Class(name, "Instruct PixToPix Conditioning", "conditioning/instructpix2pix", Req(("positive", Typed("CONDITIONING")),
            ("negative", Typed("CONDITIONING")), ("vae", Typed("VAE")), ("pixels", Typed("IMAGE"))), ["CONDITIONING", "CONDITIONING", "LATENT"], names: ["positive", "negative", "latent"]),
        "DiffusersLoader" => Class(name, name, "advanced/loaders/deprecated", Req(("model_path", Combo(folders.Diffusers()))), ["MODEL", "CLIP", "VAE"]),
        "CheckpointLoader" => Class(name, "Load Checkpoint With Config (DEPRECATED)", "advanced/loaders",
            Req(("config_name", Combo([.. ApiPromptConverter.CheckpointConfigs.Keys.Order(StringComparer.Ordinal)])), ("ckpt_name", Combo(folders.Checkpoints()))), ["MODEL", "CLIP", "VAE"]),
        _ => null,
    };

    /// <summary>The .latent files directly in the input folder, as LoadLatent lists them (ComfyUI lists no subfolders).</summary>
    public static IReadOnlyList<string> Latents(ComfyFolders folders) =>
        Directory.Exists(folders.InputFolder)
            ? Directory.EnumerateFiles(folders.InputFolder, "*.latent").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).Take(10000).ToList()
            : [];

    /// <summary>The files of a ComfyUI model folder (models/&lt;folder&gt;), as names relative to it.</summary>
    public static IReadOnlyList<string> Files(ComfyFolders folders, string folder)
    {
        var root = ComfyFolders.Inside(folders.ModelsFolder, folder);
        if (root is null || !Directory.Exists(root)) return [];
        return Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Where(f => !f.StartsWith('.'))
            .Order(StringComparer.Ordinal).Take(10000).ToList();
    }

    /// <summary>VAELoader's names, as ComfyUI's <c>vae_list</c>: the files of models/vae, then <c>taesd</c> and <c>taesdxl</c> where models/vae_approx holds both of its halves.</summary>
    public static IReadOnlyList<string> Vaes(ComfyFolders folders)
    {
        var names = Files(folders, "vae").ToList();
        if (ComfyFolders.Inside(folders.ModelsFolder, "vae_approx") is { } approx)
        {
            names.AddRange(TaesdFiles.Supported.Select(t => t.Name)
                .Where(n => TaesdFiles.Find(approx, n, TaesdPart.Encoder) is not null && TaesdFiles.Find(approx, n, TaesdPart.Decoder) is not null));
        }

        return names;
    }

    /// <summary>UpscaleModelLoader's names: the ONNX exports and weight files (.safetensors, .pth …) of models/upscale_models.</summary>
    public static IReadOnlyList<string> UpscaleModels(ComfyFolders folders) =>
        Files(folders, "upscale_models").Where(f => f.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) || WeightFiles.IsWeightFile(f)).ToList();

    /// <summary>The uploaded input images, as LoadImage names.</summary>
    public static IReadOnlyList<string> Inputs(ComfyFolders folders) =>
        Directory.Exists(folders.InputFolder)
            ? Directory.EnumerateFiles(folders.InputFolder, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(folders.InputFolder, f).Replace('\\', '/'))
                .Where(f => !f.EndsWith(".part", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal).Take(10000).ToList()
            : [];

    // comfyui_controlnet_aux's detect resolution widget.
    private static JsonArray AuxResolution() => Int(ApiPromptConverter.AuxDefaultResolution, 64, 16384, 64);

    private static JsonNode Flag(bool fallback) => Typed("BOOLEAN", new JsonObject { ["default"] = fallback });

    private static JsonObject Class(string name, string display, string category, (string Name, JsonNode Spec)[] required, string[] outputs, bool output = false,
        string[]? names = null, (string Name, JsonNode Spec)[]? optional = null) => new()
    {
        ["input"] = optional is null
            ? new JsonObject { ["required"] = Inputs(required) }
            : new JsonObject { ["required"] = Inputs(required), ["optional"] = Inputs(optional) },
        ["input_order"] = optional is null
            ? new JsonObject { ["required"] = Order(required) }
            : new JsonObject { ["required"] = Order(required), ["optional"] = Order(optional) },
        ["output"] = new JsonArray(outputs.Select(o => (JsonNode)JsonValue.Create(o)).ToArray()),
        ["output_is_list"] = new JsonArray(outputs.Select(_ => (JsonNode)JsonValue.Create(false)).ToArray()),
        ["output_name"] = new JsonArray((names ?? outputs).Select(o => (JsonNode)JsonValue.Create(o)).ToArray()),
        ["name"] = name,
        ["display_name"] = display,
        ["description"] = ApiPromptConverter.ListedButUnsupported.Contains(name) ? "Listed for clients; not supported by FlowDiffusion yet (a prompt using it gets a node error)." : "",
        ["python_module"] = "nodes",
        ["category"] = category,
        ["output_node"] = output,
    };

    private static (string, JsonNode)[] Req(params (string, JsonNode)[] inputs) => inputs;

    private static JsonObject Inputs((string Name, JsonNode Spec)[] inputs) => new(inputs.Select(r => new KeyValuePair<string, JsonNode?>(r.Name, r.Spec)));

    private static JsonArray Order((string Name, JsonNode Spec)[] inputs) => new(inputs.Select(r => (JsonNode)JsonValue.Create(r.Name)).ToArray());

    private static JsonArray Typed(string type, JsonObject? options = null) => options is null ? [type] : [type, options];

    // A multiline STRING widget.
    private static JsonArray Text() => Typed("STRING", new JsonObject { ["multiline"] = true });

    private static JsonArray Combo(IReadOnlyList<string> values) => [Names(values)];

    private static JsonArray Names(IReadOnlyList<string> values) => new(values.Select(v => (JsonNode)JsonValue.Create(v)).ToArray());

    private static JsonArray Int(double value, double min, double max, double step = 1) =>
        ["INT", new JsonObject { ["default"] = value, ["min"] = min, ["max"] = max, ["step"] = step }];

    private static JsonArray Float(double value, double min, double max, double step, bool rounded = true) =>
        ["FLOAT", new JsonObject { ["default"] = value, ["min"] = min, ["max"] = max, ["step"] = step, ["round"] = rounded ? 0.01 : false }];

    // η, s_noise or r of ComfyUI's sampler nodes: 0 … 100 in steps of 0.01, unrounded.
    private static JsonArray Factor(double value) => Float(value, 0, KSamplerParameters.MaxFactor, 0.01, rounded: false);

    // SamplerDPMAdaptative's settings: 0 … 100, step 0.01, not rounded.
    private static JsonArray Adaptive(double value) => Float(value, 0, KSamplerParameters.MaxAdaptiveSetting, 0.01, rounded: false);

    // A seed widget: 0 … 2⁶⁴ − 1, with the "control after generate" widget ComfyUI's editor adds.
    private static JsonArray Seed() =>
        ["INT", new JsonObject { ["default"] = 0, ["min"] = 0, ["max"] = MaxSeed, ["control_after_generate"] = true }];
}
