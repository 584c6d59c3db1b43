using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// The sd-webui-controlnet preprocessors FlowDiffusion runs, each as ComfyUI classes the converter maps. One table: a new
/// preprocessor is one entry here (its name, label, sliders and nodes). A module not in it is refused by name.
/// </summary>
public static class A1111ControlNetModules
{
    /// <summary>DWPose's ONNX files in models/annotators, which <c>dw_openpose_full</c> needs.</summary>
    public static readonly string[] DwPoseFiles = ["yolox_l.onnx", "dw-ll_ucoco_384.onnx"];

    /// <summary>Every module, in no particular order (<see cref="Sorted"/> gives the extension's).</summary>
    public static IReadOnlyList<A1111ControlNetModule> All { get; } =
    [
        // The image as it is (the extension's "none" keeps its resolution slider but does not scale).
        new("none", "none", 10, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, false,
            (_, image, _, _, _) => image),
        // cv2.Canny on the 8-bit image in the extension; here ComfyUI's Canny (kornia's, on the 0..1 image) at thresholds / 255.
        new("canny", "canny", 100, A1111ControlNetSlider.Resolution, new("Low Threshold", 1, 255, 100, 1), new("High Threshold", 1, 255, 200, 1), true,
            (nodes, image, _, low, high) => nodes.Add("canny", "Canny", new JsonObject
            {
                ["image"] = image, ["low_threshold"] = KorniaThreshold(low), ["high_threshold"] = KorniaThreshold(high),
            })),
        new("invert", "invert (from white bg & black line)", 20, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, false,
            (nodes, image, _, _, _) => nodes.Add("invert", "ImageInvert", new JsonObject { ["image"] = image })),
        // DWPose (body, hands and face) with its ONNX files, on the image scaled to the resolution.
        new("dw_openpose_full", "dw_openpose_full", 0, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, _, _, _) => nodes.Add("pose", "DWPreprocessor", new JsonObject
            {
                ["image"] = image, ["detect_hand"] = "enable", ["detect_body"] = "enable", ["detect_face"] = "enable",
                ["bbox_detector"] = DwPoseFiles[0], ["pose_estimator"] = DwPoseFiles[1],
            }),
            folders => DwPoseFiles.All(f => folders.ResolveModelFile("annotators", f) is not null)),
        // White where every channel is above the threshold (the extension's min over channels > threshold on 0..255):
        // each channel thresholded, multiplied, back to an image.
        new("threshold", "threshold", 0, A1111ControlNetSlider.Resolution, new("Binarization Threshold", 0, 255, 127, 0.01), A1111ControlNetSlider.Hidden, true,
            (nodes, image, _, threshold, _) =>
            {
                // p > t on 8-bit pixels is p/255 > (⌊t⌋ + 0.5)/255, away from any pixel value.
                var value = Math.Min(1, (Math.Floor(threshold) + 0.5) / 255);
                JsonArray Channel(string channel)
                {
                    var mask = nodes.Add($"{channel}", "ImageToMask", new JsonObject { ["image"] = image.DeepClone(), ["channel"] = channel });
                    return nodes.Add($"{channel}_above", "ThresholdMask", new JsonObject { ["mask"] = mask, ["value"] = value });
                }

                var (red, green, blue) = (Channel("red"), Channel("green"), Channel("blue"));
                var both = nodes.Add("red_green", "MaskComposite", new JsonObject { ["destination"] = red, ["source"] = green, ["x"] = 0, ["y"] = 0, ["operation"] = "multiply" });
                var all = nodes.Add("all", "MaskComposite", new JsonObject { ["destination"] = both, ["source"] = blue, ["x"] = 0, ["y"] = 0, ["operation"] = "multiply" });
                return nodes.Add("threshold", "MaskToImage", new JsonObject { ["mask"] = all });
            }),
        // comfyui_controlnet_aux's classes, which run the extension's own annotators (resize_image_with_pad at the resolution
        // included): the gaussian-difference lineart at the extension's fixed sigma 6 and threshold 8, XDoG, binary (0: Otsu's)
        // and the colour grid.
        new("lineart_standard", "lineart_standard (from white bg & black line)", 0, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => nodes.Add("lineart", "LineartStandardPreprocessor", new JsonObject
            {
                ["image"] = image, ["guassian_sigma"] = 6.0, ["intensity_threshold"] = 8, ["resolution"] = resolution,
            }), ScalesItself: true),
        new("scribble_xdog", "scribble_xdog", 0, A1111ControlNetSlider.Resolution, new("XDoG Threshold", 1, 64, 32, 1), A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, threshold, _) => nodes.Add("xdog", "Scribble_XDoG_Preprocessor", new JsonObject
            {
                ["image"] = image, ["threshold"] = (int)threshold, ["resolution"] = resolution,
            }), ScalesItself: true),
        new("binary", "binary", 0, A1111ControlNetSlider.Resolution, new("Binary threshold", 0, 255, 0, 1), A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, threshold, _) => nodes.Add("binary", "BinaryPreprocessor", new JsonObject
            {
                ["image"] = image, ["bin_threshold"] = (int)threshold, ["resolution"] = resolution,
            }), ScalesItself: true),
        // HED soft edges from ControlNetHED.pth (the extension's file name too), listed only when it is in models/annotators.
        new("softedge_hed", "softedge_hed", 0, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => Hed(nodes, image, resolution, "disable"), HedAvailable, ScalesItself: true),
        new("softedge_hedsafe", "softedge_hedsafe", 0, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => Hed(nodes, image, resolution, "enable"), HedAvailable, ScalesItself: true),
        // The classic OpenPose body skeleton from body_pose_model.pth (the extension's file name too), listed only when it is in
        // models/annotators; openpose_hand adds hand_pose_model.pth's hands, openpose_face facenet.pth's faces, openpose_faceonly
        // draws the faces alone, openpose_full bodies, hands and faces: each listed only when its files are all there.
        new("openpose", "openpose", 100, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => OpenPose(nodes, image, resolution, hand: false, body: true, face: false),
            folders => OpenPoseAvailable(folders, hand: false, face: false), ScalesItself: true),
        new("openpose_hand", "openpose_hand", 100, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => OpenPose(nodes, image, resolution, hand: true, body: true, face: false),
            folders => OpenPoseAvailable(folders, hand: true, face: false), ScalesItself: true),
        new("openpose_face", "openpose_face", 100, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => OpenPose(nodes, image, resolution, hand: false, body: true, face: true),
            folders => OpenPoseAvailable(folders, hand: false, face: true), ScalesItself: true),
        new("openpose_faceonly", "openpose_faceonly", 100, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => OpenPose(nodes, image, resolution, hand: false, body: false, face: true),
            folders => OpenPoseAvailable(folders, hand: false, face: true), ScalesItself: true),
        new("openpose_full", "openpose_full", 100, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => OpenPose(nodes, image, resolution, hand: true, body: true, face: true),
            folders => OpenPoseAvailable(folders, hand: true, face: true), ScalesItself: true),
        // Depth Anything with the extension's vitl files (V1 .pth; V2 its .safetensors, or aux's .pth), the extension's pipeline
        // (the network on the padded image, red and blue swapped as its detector does); listed only when a file is there.
        new("depth_anything", "depth_anything", 0, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => DepthAnything(nodes, image, resolution, "v1"),
            folders => ApiPromptConverter.A1111DepthAnythingFile(folders, "v1") is not null, ScalesItself: true),
        new("depth_anything_v2", "depth_anything_v2", 0, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => DepthAnything(nodes, image, resolution, "v2"),
            folders => ApiPromptConverter.A1111DepthAnythingFile(folders, "v2") is not null, ScalesItself: true),
        // MiDaS DPT-Hybrid from dpt_hybrid-midas-501f0c75.pt (the extension's and aux's file), listed only when it is in
        // models/annotators: the depth through aux's class (the same pipeline), the normal in the extension's channel order
        // with its background threshold slider (0.4).
        new("depth", "depth_midas", 100, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => nodes.Add("midas", "MiDaS-DepthMapPreprocessor", new JsonObject { ["image"] = image, ["resolution"] = resolution }),
            MidasAvailable, ScalesItself: true),
        new("normal_map", "normal_midas", 0, A1111ControlNetSlider.Resolution, new("Normal Background Threshold", 0, 1, 0.4, 0.01), A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, threshold, _) => nodes.Add("midas", ApiPromptConverter.A1111NormalMidasClass, new JsonObject { ["image"] = image, ["bg_threshold"] = threshold, ["resolution"] = resolution }),
            MidasAvailable, ScalesItself: true),
        // LeReS depth from res101.pth (the extension's file name too) through aux's class with boost off (the same pipeline),
        // listed only when the file is in models/annotators; depth_leres++ (boost) is refused (see Refused).
        new("depth_leres", "depth_leres", 0, A1111ControlNetSlider.Resolution, new("Remove Near %", 0, 100, 0, 0.1), new("Remove Background %", 0, 100, 0, 0.1), true,
            (nodes, image, resolution, near, background) => nodes.Add("leres", "LeReS-DepthMapPreprocessor", new JsonObject
            {
                ["image"] = image, ["rm_nearest"] = near, ["rm_background"] = background, ["boost"] = "disable", ["resolution"] = resolution,
            }),
            folders => folders.ResolveModelFile("annotators", ApiPromptConverter.LeresWeightsFile) is not null, ScalesItself: true),
        // The extension's scribble_hed: aux's nms and blur on the cropped plain HED map (FakeScribblePreprocessor draws on the padded one).
        new("scribble_hed", "scribble_hed", 0, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => nodes.Add("scribble_hed", ApiPromptConverter.A1111ScribbleHedClass, new JsonObject { ["image"] = image, ["safe"] = "disable", ["resolution"] = resolution }),
            HedAvailable, ScalesItself: true),
        // PiDiNet soft edges from table5_pidinet.pth (the extension's file name too), listed only when it is in models/annotators;
        // scribble_pidinet: aux's nms and blur on the cropped plain map, as scribble_hed.
        new("softedge_pidinet", "softedge_pidinet", 100, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => Pidinet(nodes, image, resolution, "PiDiNetPreprocessor", "disable"), PidinetAvailable, ScalesItself: true),
        new("softedge_pidisafe", "softedge_pidisafe", 0, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => Pidinet(nodes, image, resolution, "PiDiNetPreprocessor", "enable"), PidinetAvailable, ScalesItself: true),
        new("scribble_pidinet", "scribble_pidinet", 100, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => Pidinet(nodes, image, resolution, ApiPromptConverter.A1111ScribblePidinetClass, "disable"), PidinetAvailable, ScalesItself: true),
        // t2ia_sketch_pidi: the plain PiDiNet map thresholded at 0.5. The extension hides its resolution slider (a unit's
        // processor_res falls back to the hidden slider's placeholder); here it always runs at the legacy call's default, 512.
        new("pidinet_sketch", "t2ia_sketch_pidi", 0, new("EMPTY_LABEL", 512, 512, 512, 1, Visible: false), A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => nodes.Add("pidinet", ApiPromptConverter.A1111SketchPidinetClass, new JsonObject { ["image"] = image, ["resolution"] = resolution }),
            PidinetAvailable, ScalesItself: true),
        // TEED soft edges from 7_model.pth (the extension's file name too), listed only when it is in models/annotators; the
        // extension's Safe Steps slider (0…10) is aux's safe_steps.
        new("softedge_teed", "softedge_teed", 0, A1111ControlNetSlider.Resolution, new("Safe Steps", 0, 10, 2, 1), A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, steps, _) => nodes.Add("teed", "TEEDPreprocessor", new JsonObject { ["image"] = image, ["safe_steps"] = (int)steps, ["resolution"] = resolution }),
            folders => folders.ResolveModelFile("annotators", ApiPromptConverter.TeedWeightsFile) is not null, ScalesItself: true),
        // NormalBAE from scannet.pt (the extension's file name too), listed only when it is in models/annotators; priority 100
        // as the extension's, so it is NormalMap's default.
        new("normal_bae", "normal_bae", 100, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => nodes.Add("normal_bae", "BAE-NormalMapPreprocessor", new JsonObject { ["image"] = image, ["resolution"] = resolution }),
            folders => folders.ResolveModelFile("annotators", ApiPromptConverter.NormalBaeWeightsFile) is not null, ScalesItself: true),
        // The realistic and coarse lineart from sk_model.pth and sk_model2.pth (the extension's file names), each listed only when its file is in models/annotators.
        new("lineart", "lineart_realistic", 0, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => Lineart(nodes, image, resolution, "disable"), folders => LineartAvailable(folders, coarse: false), ScalesItself: true),
        new("lineart_coarse", "lineart_coarse", 0, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => Lineart(nodes, image, resolution, "enable"), folders => LineartAvailable(folders, coarse: true), ScalesItself: true),
        // The anime lineart from netG.pth through aux's class: the extension resizes the map back from multiples of 256 with
        // INTER_CUBIC on floats where aux uses INTER_AREA on bytes (the same where the padded sides are multiples of 256).
        new("lineart_anime", "lineart_anime", 0, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => nodes.Add("lineart_anime", "AnimeLineArtPreprocessor", new JsonObject { ["image"] = image, ["resolution"] = resolution }),
            folders => folders.ResolveModelFile("annotators", ApiPromptConverter.AnimeLineartWeightsFile) is not null, ScalesItself: true),
        // The manga line annotator from erika.pth (the extension's file name too) with the extension's resolution (not rounded up
        // to a multiple of 256 as aux's) and its inversion before the clipping; listed only when the file is in models/annotators.
        new("lineart_anime_denoise", "lineart_anime_denoise", 0, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => nodes.Add("lineart_anime_denoise", ApiPromptConverter.A1111LineartAnimeDenoiseClass, new JsonObject { ["image"] = image, ["resolution"] = resolution }),
            folders => folders.ResolveModelFile("annotators", ApiPromptConverter.MangaLineWeightsFile) is not null, ScalesItself: true),
        // M-LSD straight lines from mlsd_large_512_fp32.pth (the extension's file name too) through aux's class, which runs the
        // extension's own pipeline; listed only when the file is in models/annotators. Value threshold 0.01–2 and distance
        // threshold 0.01–20, both 0.1 by default, as the extension's sliders.
        new("mlsd", "mlsd", 100, A1111ControlNetSlider.Resolution, new("MLSD Value Threshold", 0.01, 2, 0.1, 0.01), new("MLSD Distance Threshold", 0.01, 20, 0.1, 0.01), true,
            (nodes, image, resolution, value, distance) => nodes.Add("mlsd", "M-LSDPreprocessor", new JsonObject
            {
                ["image"] = image, ["score_threshold"] = value, ["dist_threshold"] = distance, ["resolution"] = resolution,
            }),
            folders => folders.ResolveModelFile("annotators", ApiPromptConverter.MlsdWeightsFile) is not null, ScalesItself: true),
        // The recolor levels (OpenCV's LAB lightness read as from BGR, or HSV's value) to the gamma slider's power, at the
        // image's own size: the extension's recolor modules have no resolution and do not scale.
        new("recolor_luminance", "recolor_luminance", 100, A1111ControlNetSlider.Hidden, new("Gamma Correction", 0.1, 2, 1, 0.001), A1111ControlNetSlider.Hidden, false,
            (nodes, image, _, gamma, _) => nodes.Add("recolor", ApiPromptConverter.A1111RecolorClass, new JsonObject { ["image"] = image, ["mode"] = "luminance", ["gamma_correction"] = gamma })),
        new("recolor_intensity", "recolor_intensity", 0, A1111ControlNetSlider.Hidden, new("Gamma Correction", 0.1, 2, 1, 0.001), A1111ControlNetSlider.Hidden, false,
            (nodes, image, _, gamma, _) => nodes.Add("recolor", ApiPromptConverter.A1111RecolorClass, new JsonObject { ["image"] = image, ["mode"] = "intensity", ["gamma_correction"] = gamma })),
        new("color", "t2ia_color_grid", 0, A1111ControlNetSlider.Resolution, A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => nodes.Add("color", "ColorPreprocessor", new JsonObject { ["image"] = image, ["resolution"] = resolution }),
            ScalesItself: true),
        // The content shuffle of the scaled image (cropped before the warp) after np.random.seed(the generation's seed + subseed),
        // as the extension seeds numpy; /controlnet/detect, which seeds nothing (numpy's state is whatever the process left),
        // uses seed 0. The extension hides the resolution slider at 512 (range 0 … 1, so other values become 512).
        new("shuffle", "shuffle", 0, new("EMPTY_LABEL", 0, 1, 512, 0.01, Visible: false), A1111ControlNetSlider.Hidden, A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, _, _) => nodes.Add("shuffle", ApiPromptConverter.A1111ShuffleClass, new JsonObject
            {
                ["image"] = image, ["resolution"] = resolution, ["seed"] = nodes.NumpySeed ?? 0,
            }), ScalesItself: true),
        // cv2.GaussianBlur of the scaled image at the Sigma slider (0.01 … 64, 9).
        new("blur_gaussian", "blur_gaussian", 0, A1111ControlNetSlider.Resolution, new("Sigma", 0.01, 64, 9, 0.01), A1111ControlNetSlider.Hidden, true,
            (nodes, image, resolution, sigma, _) => nodes.Add("blur", ApiPromptConverter.A1111BlurGaussianClass, new JsonObject
            {
                ["image"] = image, ["resolution"] = resolution, ["sigma"] = sigma,
            }), ScalesItself: true),
        // The image divided by the down sampling rate (int(side / rate), cv2's INTER_AREA there, ComfyUI's area here); under
        // 1.1 the image as it is. The extension's tile_resample has no resolution slider and does not scale to one.
        new("tile_resample", "tile_resample", 100, A1111ControlNetSlider.Hidden, new("Down Sampling Rate", 1, 8, 1, 0.01), A1111ControlNetSlider.Hidden, false,
            (_, image, _, _, _) => image,
            Resample: (nodes, image, size, rate) =>
            {
                if (rate < 1.1) return null;
                (int Width, int Height) down = (Math.Max(1, (int)(size.Width / rate)), Math.Max(1, (int)(size.Height / rate)));
                return (nodes.Add("resample", "ImageScale", new JsonObject
                {
                    ["image"] = image, ["upscale_method"] = "area", ["width"] = down.Width, ["height"] = down.Height, ["crop"] = "disabled",
                }), down.Width, down.Height);
            }),
    ];

    /// <summary>The extension's modules FlowDiffusion knows and does not run, with why (a unit naming one is refused with it).</summary>
    public static IReadOnlyDictionary<string, string> Refused { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["depth_leres++"] = "LeReS++ (boost) merges LeReS estimates of many patches with pix2pix's latest_net_G.pth, which FlowDiffusion does not run; use depth_leres",
    };

    /// <summary>The module a unit names, by the extension's name or label (as its <c>get_preprocessor</c>), or null.</summary>
    public static A1111ControlNetModule? Find(string name) => All.FirstOrDefault(m => m.Label == name) ?? All.FirstOrDefault(m => m.Name == name);

    /// <summary>The modules whose files are there, in the extension's order: none first, then by priority and label, descending.</summary>
    public static IReadOnlyList<A1111ControlNetModule> Sorted(ComfyFolders folders) =>
    [
        .. All.Where(m => m.Name == "none"),
        .. All.Where(m => m.Name != "none" && (m.Available?.Invoke(folders) ?? true))
            .OrderByDescending(m => m.Priority.ToString("D8", System.Globalization.CultureInfo.InvariantCulture) + m.Label, StringComparer.Ordinal),
    ];

    private static JsonArray Hed(A1111ControlNetNodes nodes, JsonArray image, int resolution, string safe) =>
        nodes.Add("hed", "HEDPreprocessor", new JsonObject { ["image"] = image, ["safe"] = safe, ["resolution"] = resolution });

    private static JsonArray OpenPose(A1111ControlNetNodes nodes, JsonArray image, int resolution, bool hand, bool body, bool face) =>
        nodes.Add("openpose", "OpenposePreprocessor", new JsonObject
        {
            ["image"] = image, ["detect_hand"] = Switch(hand), ["detect_body"] = Switch(body), ["detect_face"] = Switch(face), ["resolution"] = resolution,
        });

    private static string Switch(bool on) => on ? "enable" : "disable";

    // The body file always (the annotator finds the bodies first), the hand and face files where asked.
    private static bool OpenPoseAvailable(ComfyFolders folders, bool hand, bool face) =>
        folders.ResolveModelFile("annotators", ApiPromptConverter.OpenPoseBodyWeightsFile) is not null
        && (!hand || folders.ResolveModelFile("annotators", ApiPromptConverter.OpenPoseHandWeightsFile) is not null)
        && (!face || folders.ResolveModelFile("annotators", ApiPromptConverter.OpenPoseFaceWeightsFile) is not null);

    private static bool HedAvailable(ComfyFolders folders) => folders.ResolveModelFile("annotators", ApiPromptConverter.HedWeightsFile) is not null;

    private static JsonArray Pidinet(A1111ControlNetNodes nodes, JsonArray image, int resolution, string classType, string safe) =>
        nodes.Add("pidinet", classType, new JsonObject { ["image"] = image, ["safe"] = safe, ["resolution"] = resolution });

    private static bool PidinetAvailable(ComfyFolders folders) => folders.ResolveModelFile("annotators", ApiPromptConverter.PidinetWeightsFile) is not null;

    private static JsonArray Lineart(A1111ControlNetNodes nodes, JsonArray image, int resolution, string coarse) =>
        nodes.Add("lineart", "LineArtPreprocessor", new JsonObject { ["image"] = image, ["coarse"] = coarse, ["resolution"] = resolution });

    private static bool LineartAvailable(ComfyFolders folders, bool coarse) =>
        folders.ResolveModelFile("annotators", coarse ? ApiPromptConverter.LineartWeightsFiles.Coarse : ApiPromptConverter.LineartWeightsFiles.Realistic) is not null;

    private static bool MidasAvailable(ComfyFolders folders) => folders.ResolveModelFile("annotators", ApiPromptConverter.MidasWeightsFile) is not null;

    private static JsonArray DepthAnything(A1111ControlNetNodes nodes, JsonArray image, int resolution, string version) =>
        nodes.Add("depth_anything", ApiPromptConverter.A1111DepthAnythingClass, new JsonObject { ["image"] = image, ["version"] = version, ["resolution"] = resolution });

    // ComfyUI's Canny takes 0.01–0.99 on the 0..1 scale.
    private static double KorniaThreshold(double eightBit) => Math.Clamp(eightBit / 255, 0.01, 0.99);
}
