using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// comfyui_controlnet_aux's preprocessors that need no model: TilePreprocessor, ColorPreprocessor, BinaryPreprocessor,
/// LineartStandardPreprocessor, Scribble_XDoG_Preprocessor, CannyEdgePreprocessor, InpaintPreprocessor, ImageIntensityDetector. Each becomes the
/// node that restates its annotator; the inputs are optional with aux's defaults and ranges. HEDPreprocessor (and FakeScribblePreprocessor),
/// OpenposePreprocessor (bodies and hands), PiDiNetPreprocessor, LineArtPreprocessor, AnimeLineArtPreprocessor, M-LSDPreprocessor, DepthAnythingPreprocessor,
/// DepthAnythingV2Preprocessor, MiDaS-DepthMapPreprocessor, MiDaS-NormalMapPreprocessor, TEEDPreprocessor,
/// Manga2Anime_LineArt_Preprocessor, BAE-NormalMapPreprocessor and LeReS-DepthMapPreprocessor, which need the annotators' weights, run them from models/annotators.
/// </summary>
public sealed partial class ApiPromptConverter
{
    /// <summary>The detect resolution aux's preprocessors default to.</summary>
    internal const int AuxDefaultResolution = 512;

    // TilePreprocessor → image.tile_resample (aux's tile annotator does not read resolution; it is range-checked only).
    private ComfyValue[]? TilePreprocessor(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var iterations = Integer(id, inputs, "pyrUp_iters", 3);
        var resolution = AuxResolution(id, inputs);
        if (image is null || iterations is null || resolution is null || !Within(id, "pyrUp_iters", iterations.Value, 1, 10)) return null;
        var node = Add(id, null, "image.tile_resample", [("image", image.Image)], [("iterations", iterations.Value)]);
        return [new ImageValue($"{node}.result")];
    }

    // ColorPreprocessor → image.color_grid.
    private ComfyValue[]? ColorPreprocessor(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var resolution = AuxResolution(id, inputs);
        if (image is null || resolution is null) return null;
        var node = Add(id, null, "image.color_grid", [("image", image.Image)], [("resolution", resolution.Value)]);
        return [new ImageValue($"{node}.result")];
    }

    // BinaryPreprocessor → image.binary (bin_threshold 0 or 255: Otsu's).
    private ComfyValue[]? BinaryPreprocessor(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var threshold = Integer(id, inputs, "bin_threshold", 100);
        var resolution = AuxResolution(id, inputs);
        if (image is null || threshold is null || resolution is null || !Within(id, "bin_threshold", threshold.Value, 0, 255)) return null;
        var node = Add(id, null, "image.binary", [("image", image.Image)], [("threshold", threshold.Value), ("resolution", resolution.Value)]);
        return [new ImageValue($"{node}.result")];
    }

    // LineartStandardPreprocessor → image.lineart_standard (aux spells the sigma guassian_sigma).
    private ComfyValue[]? LineartStandardPreprocessor(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var sigma = Number(id, inputs, "guassian_sigma", 6);
        var level = Integer(id, inputs, "intensity_threshold", 8);
        var resolution = AuxResolution(id, inputs);
        if (image is null || sigma is null || level is null || resolution is null
            || !Within(id, "guassian_sigma", sigma.Value, 0, 100) | !Within(id, "intensity_threshold", level.Value, 0, 16))
            return null;
        if (sigma.Value <= 0)
        {
            // ComfyUI accepts 0, and aux's cv2.GaussianBlur then fails the run.
            Error(id, "value_smaller_than_min", "Value smaller than min", "guassian_sigma: 0 cannot blur (OpenCV's GaussianBlur needs a sigma above 0)", "guassian_sigma");
            return null;
        }

        var node = Add(id, null, "image.lineart_standard", [("image", image.Image)],
            [("gaussian_sigma", sigma.Value), ("intensity_threshold", level.Value), ("resolution", resolution.Value)]);
        return [new ImageValue($"{node}.result")];
    }

    // Scribble_XDoG_Preprocessor → image.scribble_xdog.
    private ComfyValue[]? ScribbleXdogPreprocessor(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var threshold = Integer(id, inputs, "threshold", 32);
        var resolution = AuxResolution(id, inputs);
        if (image is null || threshold is null || resolution is null || !Within(id, "threshold", threshold.Value, 1, 64)) return null;
        var node = Add(id, null, "image.scribble_xdog", [("image", image.Image)], [("threshold", threshold.Value), ("resolution", resolution.Value)]);
        return [new ImageValue($"{node}.result")];
    }

    // CannyEdgePreprocessor → image.canny on the colour image (cv2.Canny on RGB) at the detect resolution.
    private ComfyValue[]? CannyEdgePreprocessor(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var low = Integer(id, inputs, "low_threshold", 100);
        var high = Integer(id, inputs, "high_threshold", 200);
        var resolution = AuxResolution(id, inputs);
        if (image is null || low is null || high is null || resolution is null
            || !Within(id, "low_threshold", low.Value, 0, 255) | !Within(id, "high_threshold", high.Value, 0, 255))
            return null;
        var node = Add(id, null, "image.canny", [("image", image.Image)],
            [("low_threshold", low.Value), ("high_threshold", high.Value), ("channels", "rgb"), ("resolution", resolution.Value)]);
        return [new ImageValue($"{node}.edges")];
    }

    // InpaintPreprocessor → image.inpaint_control (masked pixels −1, or 0 for xinsir's ControlNets).
    private ComfyValue[]? InpaintPreprocessor(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var mask = Link<MaskValue>(id, inputs, "mask");
        var black = Boolean(id, inputs, "black_pixel_for_xinsir_cn", false);
        if (image is null || mask is null || black is null) return null;
        var node = Add(id, null, "image.inpaint_control", [("image", image.Image), ("mask", mask.Mask)], [("black_pixels", black.Value)]);
        return [new ImageValue($"{node}.result")];
    }

    /// <summary>The class name of sd-webui-controlnet's recolor_intensity and recolor_luminance (FlowDiffusion's own: <c>mode</c>, <c>gamma_correction</c>; the image is not scaled).</summary>
    public const string A1111RecolorClass = "A1111Recolor";

    // ImageIntensityDetector / ImageLuminanceDetector → image.intensity in its mode; A1111Recolor → the same at the image's size.
    private ComfyValue[]? RecolorPreprocessor(string id, JsonObject inputs, string classType)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var extension = classType == A1111RecolorClass;
        var mode = extension ? Choice(id, inputs, "mode", "luminance", ["luminance", "intensity"]) : classType == "ImageLuminanceDetector" ? "luminance" : "intensity";
        var gamma = Number(id, inputs, "gamma_correction", 1);
        var resolution = extension ? 0 : AuxResolution(id, inputs);
        if (image is null || mode is null || gamma is null || resolution is null || !Within(id, "gamma_correction", gamma.Value, 0.1, 2)) return null;
        var node = Add(id, null, "image.intensity", [("image", image.Image)], [("mode", mode), ("gamma_correction", gamma.Value), ("resolution", resolution.Value)]);
        return [new ImageValue($"{node}.result")];
    }

    // ScribblePreprocessor → image.scribble (aux's plain threshold scribble, not HED's).
    private ComfyValue[]? ScribblePreprocessor(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var resolution = AuxResolution(id, inputs);
        if (image is null || resolution is null) return null;
        var node = Add(id, null, "image.scribble", [("image", image.Image)], [("resolution", resolution.Value)]);
        return [new ImageValue($"{node}.result")];
    }

    /// <summary>The HED annotator's weights in models/annotators, under the name aux and sd-webui-controlnet download it as.</summary>
    internal const string HedWeightsFile = "ControlNetHED.pth";

    /// <summary>The class name of sd-webui-controlnet's scribble_hed (FlowDiffusion's own: the fake scribble drawn after cropping, on the plain map).</summary>
    public const string A1111ScribbleHedClass = "A1111ScribbleHed";

    // HEDPreprocessor and FakeScribblePreprocessor → image.hed with ControlNetHED.pth from models/annotators (safe: enable
    // by default, as aux; FakeScribblePreprocessor draws the scribble on the padded map, as HEDdetector's scribble does);
    // A1111ScribbleHed → the same on the cropped map, safe off by default (the extension's scribble_hed).
    private ComfyValue[]? HedPreprocessor(string id, JsonObject inputs, string classType, string scribble)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var safe = Choice(id, inputs, "safe", classType == A1111ScribbleHedClass ? "disable" : "enable", ["enable", "disable"]);
        var resolution = AuxResolution(id, inputs);
        if (image is null || safe is null || resolution is null) return null;
        var weights = AnnotatorFile(id, classType, "the HED annotator's weights", [HedWeightsFile]);
        if (weights is null) return null;

        var node = Add(id, null, "image.hed", [("image", image.Image)], [("model", weights), ("resolution", resolution.Value), ("safe", safe == "enable"), ("scribble", scribble)]);
        return [new ImageValue($"{node}.result")];
    }

    /// <summary>The OpenPose body network's weights in models/annotators, under the name aux and sd-webui-controlnet download them as.</summary>
    internal const string OpenPoseBodyWeightsFile = "body_pose_model.pth";

    /// <summary>The OpenPose hand network's weights in models/annotators, under the name aux and sd-webui-controlnet download them as.</summary>
    internal const string OpenPoseHandWeightsFile = "hand_pose_model.pth";

    /// <summary>The OpenPose face network's weights in models/annotators, under the name aux and sd-webui-controlnet download them as.</summary>
    internal const string OpenPoseFaceWeightsFile = "facenet.pth";

    // OpenposePreprocessor → image.openpose with body_pose_model.pth, hand_pose_model.pth with detect_hand enabled and
    // facenet.pth with detect_face enabled (each a node error naming its switch without the file).
    private ComfyValue[]? OpenposePreprocessor(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        string[] switches = ["enable", "disable"];
        var hand = Choice(id, inputs, "detect_hand", "enable", switches);
        var body = Choice(id, inputs, "detect_body", "enable", switches);
        var face = Choice(id, inputs, "detect_face", "enable", switches);
        var xinsr = Choice(id, inputs, "scale_stick_for_xinsr_cn", "disable", switches);
        var resolution = AuxResolution(id, inputs);
        if (image is null || hand is null || body is null || face is null || xinsr is null || resolution is null) return null;
        var handWeights = hand == "enable"
            ? AnnotatorFile(id, "detect_hand: OpenposePreprocessor with hands enabled", "the OpenPose hand annotator's weights", [OpenPoseHandWeightsFile], AnnotatorsSource, "detect_hand")
            : null;
        if (hand == "enable" && handWeights is null) return null;

        var faceWeights = face == "enable"
            ? AnnotatorFile(id, "detect_face: OpenposePreprocessor with faces enabled", "the OpenPose face annotator's weights", [OpenPoseFaceWeightsFile], AnnotatorsSource, "detect_face")
            : null;
        if (face == "enable" && faceWeights is null) return null;

        var weights = AnnotatorFile(id, "OpenposePreprocessor", "the OpenPose body annotator's weights", [OpenPoseBodyWeightsFile]);
        if (weights is null) return null;

        List<(string, object)> parameters = [("model", weights), ("body", body == "enable"), ("resolution", resolution.Value), ("xinsr_sticks", xinsr == "enable")];
        if (handWeights is not null) parameters.AddRange([("hands", true), ("hand_model", handWeights)]);
        if (faceWeights is not null) parameters.AddRange([("faces", true), ("face_model", faceWeights)]);
        var node = Add(id, null, "image.openpose", [("image", image.Image)], [.. parameters]);
        return [new ImageValue($"{node}.pose")];
    }

    /// <summary>PiDiNet's weights in models/annotators, under the name aux and sd-webui-controlnet download them as.</summary>
    internal const string PidinetWeightsFile = "table5_pidinet.pth";

    /// <summary>The class name of sd-webui-controlnet's scribble_pidinet (FlowDiffusion's own: the fake scribble drawn after cropping, on the plain map).</summary>
    public const string A1111ScribblePidinetClass = "A1111ScribblePidinet";

    /// <summary>The class name of sd-webui-controlnet's t2ia_sketch_pidi (FlowDiffusion's own: the plain map thresholded at 0.5; <c>resolution</c>).</summary>
    public const string A1111SketchPidinetClass = "A1111SketchPidinet";

    // PiDiNetPreprocessor → image.pidinet with table5_pidinet.pth from models/annotators (safe: enable by default, as aux);
    // A1111ScribblePidinet → the scribble on the cropped map, safe off by default (the extension's scribble_pidinet);
    // A1111SketchPidinet → the plain map thresholded at 0.5 (the extension's t2ia_sketch_pidi).
    private ComfyValue[]? PidinetPreprocessor(string id, JsonObject inputs, string classType, string scribble)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var sketch = classType == A1111SketchPidinetClass;
        var safe = sketch ? "disable" : Choice(id, inputs, "safe", classType == A1111ScribblePidinetClass ? "disable" : "enable", ["enable", "disable"]);
        var resolution = AuxResolution(id, inputs);
        if (image is null || safe is null || resolution is null) return null;
        var weights = AnnotatorFile(id, classType, "PiDiNet's weights", [PidinetWeightsFile]);
        if (weights is null) return null;

        (string, object)[] parameters = [("model", weights), ("resolution", resolution.Value), ("safe", safe == "enable"), ("scribble", scribble)];
        var node = Add(id, null, "image.pidinet", [("image", image.Image)], sketch ? [.. parameters, ("sketch", true)] : parameters);
        return [new ImageValue($"{node}.result")];
    }

    /// <summary>TEED's weights in models/annotators, under the name aux and sd-webui-controlnet download them as.</summary>
    internal const string TeedWeightsFile = "7_model.pth";

    // TEEDPreprocessor → image.teed with 7_model.pth from models/annotators (safe_steps 0…10, 2 by default, as aux).
    private ComfyValue[]? TeedPreprocessor(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var steps = Integer(id, inputs, "safe_steps", 2);
        var resolution = AuxResolution(id, inputs);
        if (image is null || steps is null || resolution is null || !Within(id, "safe_steps", steps.Value, 0, 10)) return null;
        var weights = AnnotatorFile(id, "TEEDPreprocessor", "TEED's weights", [TeedWeightsFile], "bdsqlsz/qinglong_controlnet-lllite's Annotators, as comfyui_controlnet_aux downloads them");
        if (weights is null) return null;

        var node = Add(id, null, "image.teed", [("image", image.Image)], [("model", weights), ("resolution", resolution.Value), ("safe_steps", steps.Value)]);
        return [new ImageValue($"{node}.result")];
    }

    /// <summary>MangaLineExtraction's weights in models/annotators, under the name aux and sd-webui-controlnet download them as.</summary>
    internal const string MangaLineWeightsFile = "erika.pth";

    /// <summary>The class name of sd-webui-controlnet's lineart_anime_denoise (FlowDiffusion's own: the extension's rounding and inversion; <c>resolution</c>).</summary>
    public const string A1111LineartAnimeDenoiseClass = "A1111LineartAnimeDenoise";

    // Manga2Anime_LineArt_Preprocessor → image.manga_lineart (aux's pipeline) with erika.pth from models/annotators;
    // A1111LineartAnimeDenoise → the extension's pipeline on the same file.
    private ComfyValue[]? MangaLineartPreprocessor(string id, JsonObject inputs, string classType)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var resolution = AuxResolution(id, inputs);
        if (image is null || resolution is null) return null;
        var weights = AnnotatorFile(id, classType, "MangaLineExtraction's weights", [MangaLineWeightsFile],
            "lllyasviel/Annotators, as comfyui_controlnet_aux and sd-webui-controlnet download them");
        if (weights is null) return null;

        var variant = classType == A1111LineartAnimeDenoiseClass ? "webui" : "aux";
        var node = Add(id, null, "image.manga_lineart", [("image", image.Image)], [("model", weights), ("resolution", resolution.Value), ("variant", variant)]);
        return [new ImageValue($"{node}.result")];
    }

    /// <summary>NormalBAE's weights in models/annotators, under the name aux and sd-webui-controlnet download them as.</summary>
    internal const string NormalBaeWeightsFile = "scannet.pt";

    // BAE-NormalMapPreprocessor → image.normal_bae with scannet.pt from models/annotators.
    private ComfyValue[]? NormalBaePreprocessor(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var resolution = AuxResolution(id, inputs);
        if (image is null || resolution is null) return null;
        var weights = AnnotatorFile(id, "BAE-NormalMapPreprocessor", "NormalBAE's weights", [NormalBaeWeightsFile]);
        if (weights is null) return null;

        var node = Add(id, null, "image.normal_bae", [("image", image.Image)], [("model", weights), ("resolution", resolution.Value)]);
        return [new ImageValue($"{node}.result")];
    }

    /// <summary>LeReS's weights in models/annotators, under the name aux and sd-webui-controlnet download them as.</summary>
    internal const string LeresWeightsFile = "res101.pth";

    // LeReS-DepthMapPreprocessor → image.leres with res101.pth (rm_nearest and rm_background 0–100, 0 by default, as aux);
    // boost enable (LeReS++: pix2pix merging with latest_net_G.pth) is refused naming the input.
    private ComfyValue[]? LeresPreprocessor(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var near = Number(id, inputs, "rm_nearest", 0);
        var background = Number(id, inputs, "rm_background", 0);
        var boost = Choice(id, inputs, "boost", "disable", ["disable", "enable"]);
        var resolution = AuxResolution(id, inputs);
        if (image is null || near is null || background is null || boost is null || resolution is null
            || !Within(id, "rm_nearest", near.Value, 0, 100) | !Within(id, "rm_background", background.Value, 0, 100))
            return null;
        if (boost == "enable")
        {
            Error(id, "value_not_in_list", "Value not in list",
                "boost: enable (LeReS++) merges LeReS estimates of many patches with pix2pix's latest_net_G.pth, which FlowDiffusion does not run; set boost to disable", "boost");
            return null;
        }

        var weights = AnnotatorFile(id, "LeReS-DepthMapPreprocessor", "LeReS's weights", [LeresWeightsFile]);
        if (weights is null) return null;

        var node = Add(id, null, "image.leres", [("image", image.Image)],
            [("model", weights), ("resolution", resolution.Value), ("remove_near", near.Value), ("remove_background", background.Value)]);
        return [new ImageValue($"{node}.result")];
    }

    /// <summary>The realistic and coarse lineart annotators' weights in models/annotators, under the names aux and sd-webui-controlnet download them as.</summary>
    internal static readonly (string Realistic, string Coarse) LineartWeightsFiles = ("sk_model.pth", "sk_model2.pth");

    // LineArtPreprocessor → image.lineart with sk_model.pth, or sk_model2.pth when coarse is enable (aux loads both; here
    // only the one used must be there).
    private ComfyValue[]? LineArtPreprocessor(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var coarse = Choice(id, inputs, "coarse", "disable", ["disable", "enable"]);
        var resolution = AuxResolution(id, inputs);
        if (image is null || coarse is null || resolution is null) return null;
        var file = coarse == "enable" ? LineartWeightsFiles.Coarse : LineartWeightsFiles.Realistic;
        var weights = AnnotatorFile(id, $"LineArtPreprocessor{(coarse == "enable" ? " with coarse enabled" : "")}", "the lineart annotator's weights", [file], AnnotatorsSource, "coarse");
        if (weights is null) return null;

        var node = Add(id, null, "image.lineart", [("image", image.Image)], [("model", weights), ("resolution", resolution.Value)]);
        return [new ImageValue($"{node}.result")];
    }

    /// <summary>The anime lineart annotator's weights in models/annotators, under the name aux and sd-webui-controlnet download it as.</summary>
    internal const string AnimeLineartWeightsFile = "netG.pth";

    // AnimeLineArtPreprocessor → image.lineart_anime with netG.pth.
    private ComfyValue[]? AnimeLineArtPreprocessor(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var resolution = AuxResolution(id, inputs);
        if (image is null || resolution is null) return null;
        var weights = AnnotatorFile(id, "AnimeLineArtPreprocessor", "the anime lineart annotator's weights", [AnimeLineartWeightsFile]);
        if (weights is null) return null;

        var node = Add(id, null, "image.lineart_anime", [("image", image.Image)], [("model", weights), ("resolution", resolution.Value)]);
        return [new ImageValue($"{node}.result")];
    }

    /// <summary>The M-LSD annotator's weights in models/annotators, under the name aux and sd-webui-controlnet download them as.</summary>
    internal const string MlsdWeightsFile = "mlsd_large_512_fp32.pth";

    // M-LSDPreprocessor → image.mlsd with mlsd_large_512_fp32.pth (aux's score_threshold 0.01–2 and dist_threshold 0.01–20, both 0.1 by default).
    private ComfyValue[]? MlsdPreprocessor(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var score = Number(id, inputs, "score_threshold", 0.1);
        var distance = Number(id, inputs, "dist_threshold", 0.1);
        var resolution = AuxResolution(id, inputs);
        if (image is null || score is null || distance is null || resolution is null
            || !Within(id, "score_threshold", score.Value, 0.01, 2) | !Within(id, "dist_threshold", distance.Value, 0.01, 20))
            return null;
        var weights = AnnotatorFile(id, "M-LSDPreprocessor", "the M-LSD annotator's weights", [MlsdWeightsFile]);
        if (weights is null) return null;

        var node = Add(id, null, "image.mlsd", [("image", image.Image)],
            [("model", weights), ("score_threshold", score.Value), ("distance_threshold", distance.Value), ("resolution", resolution.Value)]);
        return [new ImageValue($"{node}.result")];
    }

    /// <summary>aux's DepthAnythingPreprocessor checkpoints (V1), its default first.</summary>
    internal static readonly string[] DepthAnythingFiles = ["depth_anything_vitl14.pth", "depth_anything_vitb14.pth", "depth_anything_vits14.pth"];

    /// <summary>aux's DepthAnythingV2Preprocessor checkpoints, its default (vitl) first.</summary>
    internal static readonly string[] DepthAnythingV2Files = ["depth_anything_v2_vitl.pth", "depth_anything_v2_vitg.pth", "depth_anything_v2_vitb.pth", "depth_anything_v2_vits.pth"];

    /// <summary>The class name of sd-webui-controlnet's depth_anything and depth_anything_v2 (FlowDiffusion's own: the extension's pipeline; <c>version</c> v1 or v2).</summary>
    public const string A1111DepthAnythingClass = "A1111DepthAnything";

    /// <summary>The files the extension's modules read, first found first: its vitl14 .pth for V1; its V2 .safetensors, else aux's V2 vitl .pth.</summary>
    internal static readonly string[] A1111DepthAnythingFiles = ["depth_anything_vitl14.pth", "depth_anything_v2_vitl.safetensors", "depth_anything_v2_vitl.pth"];

    /// <summary>The files the extension's <paramref name="version"/> (v1, v2) module reads, first found first.</summary>
    private static string[] A1111DepthAnythingCandidates(string version) =>
        [.. A1111DepthAnythingFiles.Where(f => f.Contains("_v2_", StringComparison.Ordinal) == (version == "v2"))];

    /// <summary>The file in models/annotators the extension's <paramref name="version"/> (v1, v2) module reads, or null.</summary>
    internal static string? A1111DepthAnythingFile(ComfyFolders folders, string version) =>
        FirstAnnotatorFile(folders, A1111DepthAnythingCandidates(version));

    // DepthAnythingPreprocessor / DepthAnythingV2Preprocessor → image.depth_anything (aux's pipeline) with ckpt_name from
    // models/annotators; A1111DepthAnything → the extension's pipeline on its file for the version.
    private ComfyValue[]? DepthAnythingPreprocessor(string id, JsonObject inputs, string classType)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var extension = classType == A1111DepthAnythingClass;
        var files = classType == "DepthAnythingPreprocessor" ? DepthAnythingFiles : DepthAnythingV2Files;
        var version = extension ? Choice(id, inputs, "version", "v1", ["v1", "v2"]) : classType == "DepthAnythingPreprocessor" ? "v1" : "v2";
        var checkpoint = extension ? "" : Choice(id, inputs, "ckpt_name", files[0], files);
        var resolution = AuxResolution(id, inputs);
        if (image is null || version is null || checkpoint is null || resolution is null) return null;
        var weights = AnnotatorFile(id, classType, "Depth Anything's weights", extension ? A1111DepthAnythingCandidates(version) : [checkpoint],
            "as comfyui_controlnet_aux and sd-webui-controlnet download them", extension ? "version" : "ckpt_name");
        if (weights is null) return null;

        var variant = extension ? "webui" : "aux";
        var node = Add(id, null, "image.depth_anything", [("image", image.Image)], [("model", weights), ("version", version), ("variant", variant), ("resolution", resolution.Value)]);
        return [new ImageValue($"{node}.result")];
    }

    /// <summary>MiDaS DPT-Hybrid's weights, the file aux's MiDaS preprocessors and the extension's depth_midas and normal_midas read.</summary>
    internal const string MidasWeightsFile = "dpt_hybrid-midas-501f0c75.pt";

    /// <summary>The class name of sd-webui-controlnet's normal_midas (FlowDiffusion's own: the normal in the extension's channel order; <c>bg_threshold</c>, <c>resolution</c>).</summary>
    public const string A1111NormalMidasClass = "A1111NormalMidas";

    // MiDaS-DepthMapPreprocessor / MiDaS-NormalMapPreprocessor → image.midas (aux's channel order) on dpt_hybrid-midas-501f0c75.pt
    // in models/annotators, its depth or normal output; A1111NormalMidas → the normal in the extension's order.
    private ComfyValue[]? MidasPreprocessor(string id, JsonObject inputs, string classType)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var extension = classType == A1111NormalMidasClass;
        var a = extension ? Math.PI * 2 : Number(id, inputs, "a", Math.PI * 2);
        var background = Number(id, inputs, "bg_threshold", extension ? 0.4 : 0.1);
        var resolution = AuxResolution(id, inputs);
        if (image is null || a is null || background is null || resolution is null
            || !Within(id, "a", a.Value, 0, Math.PI * 5) | !Within(id, "bg_threshold", background.Value, 0, 1))
            return null;
        var weights = AnnotatorFile(id, classType, "MiDaS DPT-Hybrid's weights", [MidasWeightsFile], "lllyasviel/Annotators, as comfyui_controlnet_aux and sd-webui-controlnet download them");
        if (weights is null) return null;

        var node = Add(id, null, "image.midas", [("image", image.Image)],
            [("model", weights), ("resolution", resolution.Value), ("a", a.Value), ("bg_threshold", background.Value), ("variant", extension ? "webui" : "aux")]);
        return [new ImageValue($"{node}.{(classType == "MiDaS-DepthMapPreprocessor" ? "depth" : "normal")}")];
    }

    /// <summary>Where the annotators' weights files come from when <see cref="AnnotatorFile"/> is not told otherwise.</summary>
    private const string AnnotatorsSource = "lllyasviel/Annotators, as comfyui_controlnet_aux downloads them";

    // The first of files found in models/annotators, or null after a node error on field: "{who} needs {what} {files
    // joined by "or"} ({source}) in models/annotators".
    private string? AnnotatorFile(string id, string who, string what, IReadOnlyList<string> files, string source = AnnotatorsSource, string field = "image")
    {
        var path = FirstAnnotatorFile(folders, files);
        if (path is null)
            Error(id, "value_not_in_list", "Value not in list", $"{who} needs {what} {string.Join(" or ", files)} ({source}) in models/annotators", field);
        return path;
    }

    // The first of files found in models/annotators, or null.
    private static string? FirstAnnotatorFile(ComfyFolders folders, IEnumerable<string> files) =>
        files.Select(f => folders.ResolveModelFile("annotators", f)).FirstOrDefault(path => path is not null);

    // aux's RESOLUTION input: 64 … 16384 (ComfyUI refuses the rest before aux's own fallback to 512 could act).
    private long? AuxResolution(string id, JsonObject inputs)
    {
        var resolution = Integer(id, inputs, "resolution", AuxDefaultResolution);
        return resolution is { } value && Within(id, "resolution", value, 64, 16384) ? value : null;
    }
}
