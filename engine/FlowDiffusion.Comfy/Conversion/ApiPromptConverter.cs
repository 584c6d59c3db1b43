using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Checkpoints;
using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// Converts a ComfyUI API-format prompt (<c>{ id: { class_type, inputs } }</c>) into a FlowDiffusion workflow over the
/// built-in nodes. Like ComfyUI it converts only what an output node (SaveImage, PreviewImage) needs, and reports every
/// problem per node in ComfyUI's error shape; an unsupported class or value is an error naming it, never a substitute.
/// </summary>
public sealed partial class ApiPromptConverter
{
    /// <summary>The ComfyUI classes this converter maps, in the order <c>/object_info</c> lists them.</summary>
    public static IReadOnlyList<string> SupportedClasses { get; } =
    [
        "CheckpointLoaderSimple", "CLIPTextEncode", "CLIPSetLastLayer", "EmptyLatentImage", "KSampler", "KSamplerAdvanced",
        "VAEDecode", "VAEEncode", "VAEEncodeForInpaint", "SetLatentNoiseMask", "LoadImage", "LoadImageMask", "SaveImage",
        "SaveAnimatedWEBP", "SaveAnimatedPNG",
        "PreviewImage", "ConditioningCombine", "LatentUpscale", "ImageScale", "LoraLoader", "VAELoader",
        "LatentUpscaleBy", "ImageScaleBy", "UpscaleModelLoader", "ImageUpscaleWithModel", "ImagePadForOutpaint", "VAEDecodeTiled", "VAEEncodeTiled",
        "ConditioningSetArea", "ConditioningSetAreaPercentage", "ConditioningSetMask", "ControlNetLoader", "ControlNetApply", "ControlNetApplyAdvanced",
        "ACN_ScaledSoftControlNetWeights", "ACN_AdvancedControlNetApply_v2",
        "CLIPTextEncodeSDXL", "CLIPTextEncodeSDXLRefiner", "DWPreprocessor", "LoraLoaderModelOnly", "ImageInvert",
        "GrowMask", "InvertMask", "ThresholdMask", "SolidMask", "KSamplerSelect", "BasicScheduler", "KarrasScheduler", "ExponentialScheduler",
        "SplitSigmas", "RandomNoise", "DisableNoise", "CFGGuider", "BasicGuider", "SamplerCustom", "SamplerCustomAdvanced", "InpaintModelConditioning",
        "ConditioningZeroOut", "ImageScaleToTotalPixels", "ImageToMask", "MaskToImage", "ImageCompositeMasked", "ImageCrop", "RepeatLatentBatch",
        "ConditioningConcat", "ConditioningAverage", "LatentCompositeMasked", "AlignYourStepsScheduler", "LatentFromBatch", "LatentBatch", "ImageBatch",
        "ImageFromBatch", "RepeatImageBatch", "EmptyImage", "LatentFlip", "ImageFlip", "ImageRotate", "LatentRotate", "MaskComposite", "CropMask",
        "FeatherMask", "ConditioningSetTimestepRange", "RescaleCFG", "ModelSamplingDiscrete", "ModelSamplingContinuousEDM", "ModelSamplingContinuousV", "LatentAdd", "LatentSubtract", "LatentMultiply",
        "LatentInterpolate", "LatentBatchSeedBehavior", "ImageBlend", "ImageBlur", "ImageSharpen", "SamplerEulerAncestral", "SamplerDPMPP_2S_Ancestral",
        "SamplerDPMPP_SDE", "SamplerDPMPP_2M_SDE", "SamplerDPMPP_3M_SDE", "SamplerLMS", "SamplerDPMAdaptative", "SamplerEulerAncestralCFGPP", "SamplerSASolver", "SDTurboScheduler", "PolyexponentialScheduler",
        "VPScheduler", "LaplaceScheduler", "BetaSamplingScheduler", "GITSScheduler", "SplitSigmasDenoise", "SetFirstSigma", "PrimitiveInt", "PrimitiveFloat", "PrimitiveString",
        "PrimitiveStringMultiline", "PrimitiveBoolean", "StringConcatenate", "StringSubstring", "StringLength", "CaseConverter", "StringTrim",
        "StringReplace", "StringContains", "StringCompare", "Canny", "LatentComposite", "LatentCrop", "ConditioningSetAreaStrength", "DifferentialDiffusion", "PerpNegGuider", "LatentBlend",
        "ModelMergeSimple", "ModelMergeBlocks", "ModelMergeSubtract", "ModelMergeAdd", "CLIPMergeSimple", "CLIPMergeSubtract", "CLIPMergeAdd",
        "DualCFGGuider", "APG", "CFGZeroStar", "CFGNorm",
        "FlipSigmas", "ManualSigmas", "ExtendIntermediateSigmas", "AddNoise",
        "SaveLatent", "LoadLatent",
        "ImageColorToMask", "Morphology", "ImageRGBToYUV", "ImageYUVToRGB", "PorterDuffImageComposite", "SplitImageWithAlpha", "JoinImageWithAlpha", "ImageStitch", "ResizeAndPadImage",
        "RegexMatch", "RegexExtract", "RegexReplace",
        "CheckpointSave",
        "ModelSave", "VAESave", "CLIPSave",
        "CLIPVisionLoader", "CLIPVisionEncode", "IPAdapterModelLoader", "IPAdapterUnifiedLoader", "IPAdapter", "IPAdapterAdvanced",
        "FreeU", "FreeU_V2",
        "PerturbedAttentionGuidance",
        "Mahiro", "TCFG", "Epsilon Scaling", "LatentApplyOperation", "LatentApplyOperationCFG", "LatentOperationTonemapReinhard", "LatentOperationSharpen",
        "ImageAddNoise", "ImageScaleToMaxDimension", "GetImageSize",
        "UNETLoader", "CLIPLoader",
        "DualCLIPLoader",
        "PatchModelAddDownscale",
        "SelfAttentionGuidance",
        "SaveImageWebsocket",
        "HyperTile",
        "InstructPixToPixConditioning",
        "SamplerER_SDE",
        "ModelMergeSD1", "ModelMergeSD2", "ModelMergeSDXL",
        "UNetSelfAttentionMultiply", "UNetCrossAttentionMultiply", "CLIPAttentionMultiply",
        "TomePatchModel",
        "DiffusersLoader",
        "CheckpointLoader",
        "LoadImageOutput",
        "MaskPreview",
        "SamplerEulerCFGpp",
        "SamplingPercentToSigma",
        "PreviewAny",
        "SetUnionControlNetType",
        "DiffControlNetLoader",
        "LatentConcat", "LatentCut", "LatentCutToBatch",
        "TilePreprocessor", "ColorPreprocessor", "BinaryPreprocessor", "LineartStandardPreprocessor", "Scribble_XDoG_Preprocessor", "CannyEdgePreprocessor", "InpaintPreprocessor",
        "ImageIntensityDetector", "HEDPreprocessor", "FakeScribblePreprocessor", "OpenposePreprocessor", "PiDiNetPreprocessor", "LineArtPreprocessor", "AnimeLineArtPreprocessor",
        "M-LSDPreprocessor", "DepthAnythingPreprocessor", "DepthAnythingV2Preprocessor",
        "MiDaS-DepthMapPreprocessor", "MiDaS-NormalMapPreprocessor", "TEEDPreprocessor", "Manga2Anime_LineArt_Preprocessor", "BAE-NormalMapPreprocessor",
        "AnyLineArtPreprocessor_aux",
        "LeReS-DepthMapPreprocessor",
        "ImageLuminanceDetector", "ScribblePreprocessor", AioPreprocessorClass, A1111RecolorClass,
        A1111MaskedFillClass, A1111ScribbleHedClass, A1111ScribblePidinetClass, A1111SketchPidinetClass, A1111DepthAnythingClass, A1111NormalMidasClass, A1111LineartAnimeDenoiseClass,
        "ShufflePreprocessor", A1111ShuffleClass, A1111BlurGaussianClass,
    ];

    /// <summary>Classes ComfyUI clients expect to exist that are listed but reported as unsupported when used.</summary>
    public static IReadOnlyList<string> ListedButUnsupported { get; } = [];

    private static readonly HashSet<string> OutputClasses = ["SaveImage", "PreviewImage", "SaveLatent", "CheckpointSave", "ModelSave", "VAESave", "CLIPSave", SaveImageWebsocketClass,
        "MaskPreview", "PreviewAny", "SaveAnimatedWEBP", "SaveAnimatedPNG"];

    private readonly ComfyFolders folders;
    private readonly JsonObject prompt;
    private readonly Dictionary<string, ComfyValue[]?> converted = new(StringComparer.Ordinal);
    private readonly HashSet<string> converting = new(StringComparer.Ordinal);
    private readonly List<WorkflowNode> nodes = [];
    private readonly Dictionary<string, string> comfyIdOf = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<ComfyNodeError>> errors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> outputTypes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> textOutputs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> classTypes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodePosition>? positions;
    private readonly bool requireFiles;
    private readonly JsonObject? extraPngInfo;
    private readonly bool fileMetadata;
    private readonly List<string> warnings = [];

    // clip.tokenize's syntax for CLIPTextEncode: comfyui, or a1111 for the A1111 layer's prompts.
    private string promptSyntax = "comfyui";

    private ApiPromptConverter(JsonObject prompt, ComfyFolders folders, IReadOnlyDictionary<string, NodePosition>? positions, bool requireFiles, JsonObject? extraPngInfo,
        bool fileMetadata)
    {
        this.extraPngInfo = extraPngInfo;
        this.fileMetadata = fileMetadata;
        this.prompt = prompt;
        this.folders = folders;
        this.requireFiles = requireFiles;
        this.positions = positions?.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
    }

    /// <summary>Converts <paramref name="prompt"/>.</summary>
    /// <param name="prompt">The API-format prompt.</param>
    /// <param name="folders">Where checkpoints and inputs resolve.</param>
    /// <param name="name">The workflow's name.</param>
    /// <param name="positions">Editor positions by ComfyUI node id (from a UI-format file), or null.</param>
    /// <param name="requireFiles">
    /// Whether checkpoints and images must exist now (a prompt to run); an imported file keeps unresolved names as paths
    /// and lists them in <see cref="PromptConversion.Warnings"/>.
    /// </param>
    /// <param name="extraPngInfo">The client's <c>extra_data.extra_pnginfo</c> (its UI workflow), which SaveLatent writes into its file's metadata.</param>
    /// <param name="promptSyntax">How CLIPTextEncode reads its text: <c>comfyui</c> (ComfyUI's syntax and weighting), or <c>a1111</c> (the A1111 layer: A1111's weights, BREAK, prompt editing, AND).</param>
    /// <param name="fileMetadata">
    /// Whether the save nodes write ComfyUI's metadata (this prompt and <paramref name="extraPngInfo"/>) into their files:
    /// a prompt queued to run; not an imported file, whose graph is edited before it runs.
    /// </param>
    public static PromptConversion Convert(JsonNode? prompt, ComfyFolders folders, string name = "comfyui", IReadOnlyDictionary<string, NodePosition>? positions = null,
        bool requireFiles = true, JsonObject? extraPngInfo = null, string promptSyntax = "comfyui", bool fileMetadata = true)
    {
        ArgumentNullException.ThrowIfNull(folders);
        if (prompt is not JsonObject graph)
            return Fail("invalid_prompt", "Invalid prompt", "the prompt must be a JSON object of nodes by id: { \"3\": { \"class_type\": \"KSampler\", \"inputs\": { … } } }");
        foreach (var (id, node) in graph)
        {
            if (node is not JsonObject entry || entry["class_type"] is not JsonValue classType || classType.GetValueKind() != JsonValueKind.String)
                return Fail("invalid_prompt", $"Cannot execute because a node is missing the class_type property.", $"Node ID '#{id}'");
            var type = classType.GetValue<string>();
            if (!SupportedClasses.Contains(type) && !ListedButUnsupported.Contains(type))
                return Fail("invalid_prompt", $"Cannot execute because node {type} does not exist.", $"Node ID '#{id}': FlowDiffusion maps these ComfyUI classes: {string.Join(", ", SupportedClasses)}.");
        }

        var converter = new ApiPromptConverter(graph, folders, positions, requireFiles, extraPngInfo, fileMetadata) { promptSyntax = promptSyntax };
        var outputs = graph.Where(p => OutputClasses.Contains(p.Value!["class_type"]!.GetValue<string>())).Select(p => p.Key).ToList();
        if (outputs.Count == 0) return Fail("prompt_no_outputs", "Prompt has no outputs", "add a SaveImage, PreviewImage, SaveImageWebsocket or SaveLatent node");
        foreach (var id in outputs) converter.ConvertNode(id);
        var nodeErrors = converter.errors.ToDictionary(e => e.Key, e => (converter.classTypes.GetValueOrDefault(e.Key, ""), (IReadOnlyList<ComfyNodeError>)e.Value), StringComparer.Ordinal);
        var layout = converter.positions is null ? null
            : new EditorLayout(converter.nodes.Where(n => converter.positions.ContainsKey(converter.comfyIdOf[n.Id]))
                .Select(n => new KeyValuePair<string, NodePosition>(n.Id, Offset(converter.positions[converter.comfyIdOf[n.Id]], n.Id, converter.comfyIdOf[n.Id]))).ToList());
        return new PromptConversion
        {
            Workflow = nodeErrors.Count == 0
                ? new Workflow(name, "Converted from a ComfyUI workflow.", [], converter.nodes, layout)
                : null,
            NodeErrors = nodeErrors,
            OutputNodes = outputs,
            ComfyIdOf = converter.comfyIdOf,
            OutputTypes = converter.outputTypes,
            TextOutputs = converter.textOutputs,
            ClassTypes = converter.classTypes,
            Warnings = converter.warnings,
        };
    }

    /// <summary>Our node id for ComfyUI node <paramref name="comfyId"/> (plus a role suffix for the helpers it needs).</summary>
    /// <param name="comfyId">The ComfyUI id.</param>
    /// <param name="role">The helper's role, or null for the main node.</param>
    public static string NodeId(string comfyId, string? role = null)
    {
        var builder = new StringBuilder("n");
        foreach (var c in comfyId) builder.Append(char.IsAsciiLetterOrDigit(c) ? c : '_');
        if (role is not null) builder.Append("__").Append(role);
        return builder.ToString();
    }

    private static PromptConversion Fail(string type, string message, string details) => new() { Error = new ComfyNodeError(type, message, details) };

    // Helpers sit a little below their main node, so a converted graph stays readable in the editor.
    private static NodePosition Offset(NodePosition position, string id, string comfyId) =>
        id == NodeId(comfyId) ? position : position with { Y = position.Y + 60 * (1 + (id.GetHashCode(StringComparison.Ordinal) & 3)) };

    private ComfyValue[]? ConvertNode(string id)
    {
        if (converted.TryGetValue(id, out var done)) return done;
        if (!converting.Add(id))
        {
            Error(id, "invalid_prompt", "Cycle", $"node '{id}' depends on itself");
            return null;
        }

        var node = (JsonObject)prompt[id]!;
        var type = node["class_type"]!.GetValue<string>();
        classTypes[id] = type;
        var inputs = node["inputs"] as JsonObject ?? [];
        var aio = type == AioPreprocessorClass ? AioPreprocessor(id, inputs) : null;
        if (aio is { Class: { } named }) (type, inputs) = (named, aio.Inputs);
        ComfyValue[]? result = null;
        try
        {
            result = type switch
            {
                "CheckpointLoaderSimple" => CheckpointLoader(id, inputs),
                "DiffusersLoader" => DiffusersLoader(id, inputs),
                "CheckpointLoader" => CheckpointLoaderWithConfig(id, inputs),
                "CLIPTextEncode" => TextEncode(id, inputs),
                "CLIPSetLastLayer" => SetLastLayer(id, inputs),
                "EmptyLatentImage" => EmptyLatent(id, inputs),
                "KSampler" => Sampler(id, inputs, advanced: false),
                "KSamplerAdvanced" => Sampler(id, inputs, advanced: true),
                "VAEDecode" => VaeDecode(id, inputs),
                "VAEEncode" => VaeEncode(id, inputs),
                "VAEEncodeForInpaint" => VaeEncodeForInpaint(id, inputs),
                "SetLatentNoiseMask" => SetNoiseMask(id, inputs),
                "LoadImage" or "LoadImageOutput" => LoadImage(id, inputs),
                "LoadImageMask" => LoadImageMask(id, inputs),
                "SaveImage" => SaveImage(id, inputs, "output", Text(id, inputs, "filename_prefix", "ComfyUI")),
                "PreviewImage" => SaveImage(id, inputs, "temp", PreviewPrefix),
                "SaveAnimatedWEBP" => SaveAnimated(id, inputs, "webp"),
                "SaveAnimatedPNG" => SaveAnimated(id, inputs, "png"),
                "MaskPreview" => MaskPreview(id, inputs),
                "PreviewAny" => PreviewAny(id, inputs),
                "ConditioningCombine" => Combine(id, inputs),
                "LatentUpscale" => Resize(id, inputs, "samples", "latent.resize", "latent"),
                "ImageScale" => Resize(id, inputs, "image", "image.resize", "image"),
                "LoraLoader" => LoraLoader(id, inputs),
                "LoraLoaderModelOnly" => LoraLoaderModelOnly(id, inputs),
                "ImageInvert" => ImageInvert(id, inputs),
                "GrowMask" => GrowMask(id, inputs),
                "InvertMask" => InvertMask(id, inputs),
                "ThresholdMask" => ThresholdMask(id, inputs),
                "SolidMask" => SolidMask(id, inputs),
                "VAELoader" => VaeLoader(id, inputs),
                "LatentUpscaleBy" => Resize(id, inputs, "samples", "latent.resize", "latent", scaleBy: true),
                "ImageScaleBy" => Resize(id, inputs, "image", "image.resize", "image", scaleBy: true),
                "UpscaleModelLoader" => UpscaleModelLoader(id, inputs),
                "ImageUpscaleWithModel" => UpscaleWithModel(id, inputs),
                "ImagePadForOutpaint" => PadForOutpaint(id, inputs),
                "VAEDecodeTiled" => VaeTiled(id, inputs, decode: true),
                "VAEEncodeTiled" => VaeTiled(id, inputs, decode: false),
                "ConditioningSetArea" => SetArea(id, inputs),
                "ConditioningSetAreaPercentage" => SetAreaPercentage(id, inputs),
                "ConditioningSetMask" => SetMask(id, inputs),
                "ControlNetLoader" => ControlNetLoader(id, inputs),
                "ControlNetApply" => ControlNetApply(id, inputs),
                "ControlNetApplyAdvanced" => ControlNetApplyAdvanced(id, inputs),
                "ACN_ScaledSoftControlNetWeights" => ScaledSoftControlNetWeights(id, inputs),
                "ACN_AdvancedControlNetApply_v2" => AdvancedControlNetApply(id, inputs),
                "SetUnionControlNetType" => SetUnionControlNetType(id, inputs),
                "DiffControlNetLoader" => DiffControlNetLoader(id, inputs),
                "DWPreprocessor" => DwPreprocessor(id, inputs),
                "Canny" => Canny(id, inputs),
                "TilePreprocessor" => TilePreprocessor(id, inputs),
                "ColorPreprocessor" => ColorPreprocessor(id, inputs),
                "BinaryPreprocessor" => BinaryPreprocessor(id, inputs),
                "LineartStandardPreprocessor" => LineartStandardPreprocessor(id, inputs),
                "Scribble_XDoG_Preprocessor" => ScribbleXdogPreprocessor(id, inputs),
                "CannyEdgePreprocessor" => CannyEdgePreprocessor(id, inputs),
                "InpaintPreprocessor" => InpaintPreprocessor(id, inputs),
                "ImageIntensityDetector" or "ImageLuminanceDetector" or A1111RecolorClass => RecolorPreprocessor(id, inputs, type),
                "ScribblePreprocessor" => ScribblePreprocessor(id, inputs),
                "ShufflePreprocessor" => ShufflePreprocessor(id, inputs),
                A1111ShuffleClass => A1111Shuffle(id, inputs),
                A1111BlurGaussianClass => A1111BlurGaussian(id, inputs),
                AioPreprocessorClass => aio!.Passed,
                "HEDPreprocessor" => HedPreprocessor(id, inputs, type, "none"),
                "FakeScribblePreprocessor" => HedPreprocessor(id, inputs, type, "padded"),
                "OpenposePreprocessor" => OpenposePreprocessor(id, inputs),
                A1111ScribbleHedClass => HedPreprocessor(id, inputs, type, "cropped"),
                "PiDiNetPreprocessor" => PidinetPreprocessor(id, inputs, type, "none"),
                A1111ScribblePidinetClass => PidinetPreprocessor(id, inputs, type, "cropped"),
                A1111SketchPidinetClass => PidinetPreprocessor(id, inputs, type, "none"),
                "LineArtPreprocessor" => LineArtPreprocessor(id, inputs),
                "AnimeLineArtPreprocessor" => AnimeLineArtPreprocessor(id, inputs),
                "M-LSDPreprocessor" => MlsdPreprocessor(id, inputs),
                "DepthAnythingPreprocessor" or "DepthAnythingV2Preprocessor" or A1111DepthAnythingClass => DepthAnythingPreprocessor(id, inputs, type),
                "MiDaS-DepthMapPreprocessor" or "MiDaS-NormalMapPreprocessor" or A1111NormalMidasClass => MidasPreprocessor(id, inputs, type),
                "TEEDPreprocessor" => TeedPreprocessor(id, inputs),
                "AnyLineArtPreprocessor_aux" => AnylinePreprocessor(id, inputs),
                "Manga2Anime_LineArt_Preprocessor" or A1111LineartAnimeDenoiseClass => MangaLineartPreprocessor(id, inputs, type),
                "BAE-NormalMapPreprocessor" => NormalBaePreprocessor(id, inputs),
                "LeReS-DepthMapPreprocessor" => LeresPreprocessor(id, inputs),
                A1111MaskedFillClass => A1111MaskedFill(id, inputs),
                "LatentComposite" => LatentComposite(id, inputs),
                "LatentCrop" => LatentCrop(id, inputs),
                "LatentConcat" => LatentConcat(id, inputs),
                "LatentCut" => LatentCut(id, inputs),
                "LatentCutToBatch" => LatentCutToBatch(id, inputs),
                "ConditioningSetAreaStrength" => SetAreaStrength(id, inputs),
                "DifferentialDiffusion" => DifferentialDiffusion(id, inputs),
                "PerpNegGuider" => PerpNegGuider(id, inputs),
                "DualCFGGuider" => DualCfgGuider(id, inputs),
                "APG" => Apg(id, inputs),
                "CFGZeroStar" => CfgZeroStar(id, inputs),
                "CFGNorm" => CfgNorm(id, inputs),
                "CLIPTextEncodeSDXL" => SdxlTextEncode(id, inputs),
                "CLIPTextEncodeSDXLRefiner" => SdxlRefinerTextEncode(id, inputs),
                "KSamplerSelect" => KSamplerSelect(id, inputs),
                "SamplerEulerAncestral" or "SamplerDPMPP_2S_Ancestral" or "SamplerDPMPP_SDE" or "SamplerDPMPP_2M_SDE" or "SamplerDPMPP_3M_SDE"
                    or "SamplerEulerAncestralCFGPP" => SamplerWithNoiseSettings(id, inputs, type),
                "SamplerLMS" => SamplerLms(id, inputs),
                "SamplerEulerCFGpp" => SamplerEulerCfgPp(id, inputs),
                "SamplingPercentToSigma" => SamplingPercentToSigma(id, inputs),
                "SamplerDPMAdaptative" => SamplerDpmAdaptive(id, inputs),
                "SamplerSASolver" => SamplerSaSolver(id, inputs),
                "SamplerER_SDE" => SamplerErSde(id, inputs),
                "BasicScheduler" => BasicScheduler(id, inputs),
                "KarrasScheduler" => ExplicitScheduler(id, inputs, karras: true),
                "ExponentialScheduler" => ExplicitScheduler(id, inputs, karras: false),
                "SplitSigmas" => SplitSigmas(id, inputs),
                "AlignYourStepsScheduler" => AlignYourStepsScheduler(id, inputs),
                "SDTurboScheduler" => SdTurboScheduler(id, inputs),
                "BetaSamplingScheduler" => BetaSamplingScheduler(id, inputs),
                "PolyexponentialScheduler" => PolyexponentialScheduler(id, inputs),
                "VPScheduler" => VpScheduler(id, inputs),
                "LaplaceScheduler" => LaplaceScheduler(id, inputs),
                "GITSScheduler" => GitsScheduler(id, inputs),
                "SplitSigmasDenoise" => SplitSigmasDenoise(id, inputs),
                "SetFirstSigma" => SetFirstSigma(id, inputs),
                "RandomNoise" => RandomNoise(id, inputs),
                "DisableNoise" => [new NoiseValue(0, Add: false)],
                "CFGGuider" => CfgGuider(id, inputs),
                "BasicGuider" => BasicGuider(id, inputs),
                "SamplerCustom" => SamplerCustom(id, inputs),
                "SamplerCustomAdvanced" => SamplerCustomAdvanced(id, inputs),
                "InpaintModelConditioning" => InpaintModelConditioning(id, inputs),
                "ConditioningZeroOut" => ZeroOut(id, inputs),
                "ConditioningSetTimestepRange" => SetTimestepRange(id, inputs),
                "RescaleCFG" => RescaleCfg(id, inputs),
                "ModelSamplingDiscrete" => ModelSamplingDiscrete(id, inputs),
                "ModelSamplingContinuousEDM" => ModelSamplingContinuousEdm(id, inputs),
                "ModelSamplingContinuousV" => ModelSamplingContinuousV(id, inputs),
                "ImageScaleToTotalPixels" => ScaleToTotalPixels(id, inputs),
                "ImageToMask" => ImageToMask(id, inputs),
                "MaskToImage" => MaskToImage(id, inputs),
                "ImageCrop" => ImageCrop(id, inputs),
                "RepeatLatentBatch" => RepeatLatent(id, inputs),
                "ConditioningConcat" => ConditioningConcat(id, inputs),
                "ConditioningAverage" => ConditioningAverage(id, inputs),
                "ImageCompositeMasked" or "LatentCompositeMasked" => Composite(id, inputs, type == "LatentCompositeMasked"),
                "LatentFromBatch" => LatentFromBatch(id, inputs),
                "LatentBatch" => LatentBatch(id, inputs),
                "ImageBatch" => ImageBatch(id, inputs),
                "ImageFromBatch" => ImageFromBatch(id, inputs),
                "RepeatImageBatch" => RepeatImage(id, inputs),
                "EmptyImage" => EmptyImage(id, inputs),
                "LatentFlip" or "ImageFlip" => Flip(id, inputs, type == "LatentFlip"),
                "LatentRotate" or "ImageRotate" => Rotate(id, inputs, type == "LatentRotate"),
                "MaskComposite" => MaskComposite(id, inputs),
                "CropMask" => CropMask(id, inputs),
                "FeatherMask" => FeatherMask(id, inputs),
                "LatentAdd" => LatentPair(id, inputs, "latent.add"),
                "LatentSubtract" => LatentPair(id, inputs, "latent.subtract"),
                "LatentInterpolate" => LatentPair(id, inputs, "latent.interpolate"),
                "LatentBlend" => LatentPair(id, inputs, "latent.blend"),
                "SaveLatent" => SaveLatent(id, inputs),
                "CheckpointSave" => CheckpointSave(id, inputs),
                "PerturbedAttentionGuidance" => PerturbedAttentionGuidance(id, inputs),
                "SelfAttentionGuidance" => SelfAttentionGuidance(id, inputs),
                "LoadLatent" => LoadLatent(id, inputs),
                "LatentMultiply" => LatentMultiply(id, inputs),
                "LatentBatchSeedBehavior" => LatentSeedBehavior(id, inputs),
                "ImageBlend" => ImageBlend(id, inputs),
                "ImageBlur" => ImageBlur(id, inputs),
                "ImageSharpen" => ImageSharpen(id, inputs),
                "PrimitiveInt" or "PrimitiveFloat" or "PrimitiveString" or "PrimitiveStringMultiline" or "PrimitiveBoolean" => Primitive(id, inputs, type),
                "StringConcatenate" or "StringSubstring" or "StringLength" or "CaseConverter" or "StringTrim" or "StringReplace" or "StringContains"
                    or "StringCompare" => StringNode(id, inputs, type),
                "ModelMergeSimple" or "ModelMergeSubtract" or "ModelMergeAdd" => ModelMerge(id, inputs, type),
                "ModelMergeBlocks" => ModelMergeBlocks(id, inputs),
                "ModelMergeSD1" or "ModelMergeSD2" or "ModelMergeSDXL" => ModelMergeModelSpecific(id, inputs, type),
                "UNetSelfAttentionMultiply" or "UNetCrossAttentionMultiply" => UNetAttentionMultiply(id, inputs, type),
                "CLIPAttentionMultiply" => ClipAttentionMultiply(id, inputs),
                "CLIPMergeSimple" or "CLIPMergeSubtract" or "CLIPMergeAdd" => ClipMerge(id, inputs, type),
                "FlipSigmas" => FlipSigmas(id, inputs),
                "ManualSigmas" => ManualSigmas(id, inputs),
                "ExtendIntermediateSigmas" => ExtendIntermediateSigmas(id, inputs),
                "AddNoise" => AddNoise(id, inputs),
                "ImageColorToMask" => ImageColorToMask(id, inputs),
                "Morphology" => Morphology(id, inputs),
                "ImageRGBToYUV" => ImageRgbToYuv(id, inputs),
                "ImageYUVToRGB" => ImageYuvToRgb(id, inputs),
                "PorterDuffImageComposite" => PorterDuffComposite(id, inputs),
                "SplitImageWithAlpha" => SplitImageWithAlpha(id, inputs),
                "JoinImageWithAlpha" => JoinImageWithAlpha(id, inputs),
                "ImageStitch" => ImageStitch(id, inputs),
                "ResizeAndPadImage" => ResizeAndPadImage(id, inputs),
                "RegexMatch" or "RegexExtract" or "RegexReplace" => RegexNode(id, inputs, type),
                "ModelSave" => ModelSave(id, inputs),
                "VAESave" => VaeSave(id, inputs),
                "CLIPSave" => ClipSave(id, inputs),
                "CLIPVisionLoader" => ClipVisionLoader(id, inputs),
                "CLIPVisionEncode" => ClipVisionEncode(id, inputs),
                "IPAdapterModelLoader" => IpAdapterModelLoader(id, inputs),
                "IPAdapterUnifiedLoader" => IpAdapterUnifiedLoader(id, inputs),
                "IPAdapter" => IpAdapterSimple(id, inputs),
                "IPAdapterAdvanced" => IpAdapterAdvanced(id, inputs),
                "FreeU" or "FreeU_V2" => FreeU(id, inputs, type),
                "Mahiro" => Mahiro(id, inputs),
                "TCFG" => Tcfg(id, inputs),
                "Epsilon Scaling" => EpsilonScaling(id, inputs),
                "LatentApplyOperation" => LatentApplyOperation(id, inputs),
                "LatentApplyOperationCFG" => LatentApplyOperationCfg(id, inputs),
                "LatentOperationTonemapReinhard" => TonemapReinhard(id, inputs),
                "LatentOperationSharpen" => LatentSharpen(id, inputs),
                "ImageAddNoise" => ImageAddNoise(id, inputs),
                "ImageScaleToMaxDimension" => ScaleToMaxDimension(id, inputs),
                "GetImageSize" => GetImageSize(id, inputs),
                "UNETLoader" => UNetLoader(id, inputs),
                "CLIPLoader" => ClipLoader(id, inputs),
                "DualCLIPLoader" => DualClipLoader(id, inputs),
                "PatchModelAddDownscale" => DeepShrink(id, inputs),
                "HyperTile" => HyperTile(id, inputs),
                SaveImageWebsocketClass => SaveImageWebsocket(id, inputs),
                "InstructPixToPixConditioning" => InstructPixToPixConditioning(id, inputs),
                "TomePatchModel" => TomePatchModel(id, inputs),
                _ => Unsupported(id, type),
            };
        }
        finally
        {
            converting.Remove(id);
        }

        if (aio is { Class: { } name }) NameAioPreprocessor(id, name);
        converted[id] = result;
        return result;
    }

    private ComfyValue[]? Unsupported(string id, string type)
    {
        const string why = "FlowDiffusion has no node for it yet";
        Error(id, "node_not_supported", $"{type} is not supported", $"{type}: {why}.");
        return null;
    }

    private ComfyValue[]? CheckpointLoader(string id, JsonObject inputs)
    {
        var name = Text(id, inputs, "ckpt_name", null);
        if (name is null) return null;
        var path = folders.ResolveCheckpoint(name);
        path ??= NotHereYet(id, classTypes[id], name, "checkpoints", "a model folder");

        if (path is null)
        {
            var available = folders.Checkpoints();
            Error(id, "value_not_in_list", "Value not in list",
                $"ckpt_name: '{name}' not in [{string.Join(", ", available.Select(a => $"'{a}'"))}] (diffusers ONNX folders under models/checkpoints or models/)", "ckpt_name");
            return null;
        }

        return LoadedCheckpoint(id, path);
    }

    // An import (files not required) keeps a name that is not here yet as its path in the model folder ComfyUI would read,
    // with a warning, if the name stays inside that folder; otherwise (a prompt to run, or a name that leaves the folder) null.
    private string? NotHereYet(string id, string type, string name, string folder, string where)
    {
        if (requireFiles || ComfyFolders.Inside(Path.Combine(folders.ModelsFolder, folder), name.Replace('\\', '/')) is null) return null;
        var path = $"models/{folder}/{name}";
        warnings.Add($"node {id} ({type}): '{name}' is not {where} here yet; the workflow loads {path}");
        return path;
    }

    // model.load of a checkpoint file or model folder: its MODEL, CLIP and VAE.
    private ComfyValue[] LoadedCheckpoint(string id, string path)
    {
        var node = Add(id, null, "model.load", [], [("path", path)]);
        return [new ModelValue($"{node}.unet", $"{node}.scheduler_config") { Checkpoint = path }, new ClipValue($"{node}.clip", $"{node}.tokenizer") { Sd2 = IsSd2Checkpoint(path) }, new VaeValue($"{node}.vae")];
    }

    // Whether the checkpoint is SD 2.x, from its tensor names; one that cannot be read yet is not (loading it reports why).
    private bool IsSd2Checkpoint(string path)
    {
        try
        {
            var full = Path.GetFullPath(Path.Combine(folders.WorkingFolder, path));
            return File.Exists(full) && SdxlCheckpoint.Detect(full) == ModelFamily.StableDiffusion2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or FormatException or ArgumentException or System.Text.Json.JsonException)
        {
            return false;
        }
    }

    // LoraLoader → lora.apply on the model's UNet and the CLIP's text encoder; the file is looked up in models/loras.
    private ComfyValue[]? LoraLoader(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var clip = Link<ClipValue>(id, inputs, "clip");
        var path = ModelFile(id, inputs, "lora_name", "loras", "LoraLoader");
        var strengthModel = Number(id, inputs, "strength_model", 1);
        var strengthClip = Number(id, inputs, "strength_clip", 1);
        if (model is null || clip is null || path is null || strengthModel is null || strengthClip is null) return null;
        var node = Add(id, null, "lora.apply", [("unet", model.Unet), ("clip", clip.Clip)],
            [("path", path), ("strength_model", strengthModel.Value), ("strength_clip", strengthClip.Value)]);
        return [model with { Unet = $"{node}.unet_out" }, clip with { Clip = $"{node}.clip_out" }];
    }

    // LoraLoaderModelOnly → lora.apply on the model's UNet alone: as in ComfyUI, the LoRA's text-encoder keys are not
    // applied (lora.apply reports them as unmatched in a warning, where ComfyUI logs them).
    private ComfyValue[]? LoraLoaderModelOnly(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var path = ModelFile(id, inputs, "lora_name", "loras", "LoraLoaderModelOnly");
        var strengthModel = Number(id, inputs, "strength_model", 1);
        if (model is null || path is null || strengthModel is null) return null;
        var node = Add(id, null, "lora.apply", [("unet", model.Unet)], [("path", path), ("strength_model", strengthModel.Value)]);
        return [model with { Unet = $"{node}.unet_out" }];
    }

    // ImageInvert → image.invert: 1 − value in each channel.
    private ComfyValue[]? ImageInvert(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        return image is null ? null : [new ImageValue($"{Add(id, null, "image.invert", [("image", image.Image)], [])}.inverted")];
    }

    // ConditioningZeroOut → conditioning.zero_out: zero embeddings and pooled embedding, other extras kept.
    private ComfyValue[]? ZeroOut(string id, JsonObject inputs)
    {
        var conditioning = Link<ConditioningValue>(id, inputs, "conditioning");
        return conditioning is null ? null : [conditioning with { Conditioning = $"{Add(id, null, "conditioning.zero_out", [("conditioning", conditioning.Conditioning)], [])}.zeroed" }];
    }

    // ImageScaleToTotalPixels → image.resize to about megapixels · 1024² pixels, the aspect ratio kept.
    private ComfyValue[]? ScaleToTotalPixels(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var method = Choice(id, inputs, "upscale_method", "nearest-exact", ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]);
        var megapixels = Number(id, inputs, "megapixels", 1);
        if (image is null || method is null || megapixels is null || !Within(id, "megapixels", megapixels.Value, 0.01, 16)) return null;
        var node = Add(id, null, "image.resize", [("image", image.Image)], [("megapixels", megapixels.Value), ("method", method)]);
        return [new ImageValue($"{node}.resized")];
    }

    // ImageToMask → mask.from_image of a colour channel (ComfyUI's IMAGE has no alpha either: asking for it fails there too).
    private ComfyValue[]? ImageToMask(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var channel = Choice(id, inputs, "channel", "red", ["red", "green", "blue", "alpha"]);
        if (image is null || channel is null) return null;
        if (channel == "alpha")
        {
            Error(id, "value_not_supported", "Value not supported", "channel: 'alpha': images carry red, green and blue only; LoadImage's MASK output (or LoadImageMask) reads a file's alpha", "channel");
            return null;
        }

        return [new MaskValue($"{Add(id, null, "mask.from_image", [("image", image.Image)], [("channel", channel)])}.mask")];
    }

    // MaskToImage → image.from_mask: the mask in all three channels.
    private ComfyValue[]? MaskToImage(string id, JsonObject inputs)
    {
        var mask = Link<MaskValue>(id, inputs, "mask");
        return mask is null ? null : [new ImageValue($"{Add(id, null, "image.from_mask", [("mask", mask.Mask)], [])}.image")];
    }

    // ImageCompositeMasked → image.composite, LatentCompositeMasked → latent.composite (the mask is optional, as in
    // ComfyUI; the latent's noise mask is the destination's).
    private ComfyValue[]? Composite(string id, JsonObject inputs, bool latent)
    {
        string? destination, source;
        string? noiseMask = null;
        if (latent)
        {
            var to = Link<LatentValue>(id, inputs, "destination");
            (destination, noiseMask) = (to?.Latent, to?.Mask);
            source = Link<LatentValue>(id, inputs, "source")?.Latent;
        }
        else
        {
            destination = Link<ImageValue>(id, inputs, "destination")?.Image;
            source = Link<ImageValue>(id, inputs, "source")?.Image;
        }

        var mask = inputs["mask"] is null ? null : Link<MaskValue>(id, inputs, "mask");
        var x = Integer(id, inputs, "x", 0);
        var y = Integer(id, inputs, "y", 0);
        var resize = Boolean(id, inputs, "resize_source", false);
        if (destination is null || source is null || (inputs["mask"] is not null && mask is null) || x is null || y is null || resize is null
            || !Within(id, "x", x.Value, 0, 16384) | !Within(id, "y", y.Value, 0, 16384))
            return null;
        var edges = new List<(string, string)> { ("destination", destination), ("source", source) };
        if (mask is not null) edges.Add(("mask", mask.Mask));
        var node = Add(id, null, latent ? "latent.composite" : "image.composite", edges, [("x", x.Value), ("y", y.Value), ("resize_source", resize.Value)]);
        return latent ? [new LatentValue($"{node}.composited", noiseMask)] : [new ImageValue($"{node}.composited")];
    }

    // ConditioningAverage → conditioning.average: to · strength + from · (1 − strength) at to's length.
    private ComfyValue[]? ConditioningAverage(string id, JsonObject inputs)
    {
        var to = Link<ConditioningValue>(id, inputs, "conditioning_to");
        var from = Link<ConditioningValue>(id, inputs, "conditioning_from");
        var strength = Number(id, inputs, "conditioning_to_strength", 1);
        if (to is null || from is null || strength is null || !Within(id, "conditioning_to_strength", strength.Value, 0, 1)) return null;
        var node = Add(id, null, "conditioning.average", [("to", to.Conditioning), ("from", from.Conditioning)], [("to_strength", strength.Value)]);
        return [to with { Conditioning = $"{node}.conditioning" }];
    }

    // ImageCrop → image.crop.
    private ComfyValue[]? ImageCrop(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var width = Integer(id, inputs, "width", 512);
        var height = Integer(id, inputs, "height", 512);
        var x = Integer(id, inputs, "x", 0);
        var y = Integer(id, inputs, "y", 0);
        if (image is null || width is null || height is null || x is null || y is null) return null;
        if (!Within(id, "width", width.Value, 1, 16384) | !Within(id, "height", height.Value, 1, 16384) | !Within(id, "x", x.Value, 0, 16384) | !Within(id, "y", y.Value, 0, 16384))
            return null;
        var node = Add(id, null, "image.crop", [("image", image.Image)], [("width", width.Value), ("height", height.Value), ("x", x.Value), ("y", y.Value)]);
        return [new ImageValue($"{node}.cropped")];
    }

    // RepeatLatentBatch → latent.repeat; a noise mask of one image serves the whole repeated batch.
    private ComfyValue[]? RepeatLatent(string id, JsonObject inputs)
    {
        var samples = Link<LatentValue>(id, inputs, "samples");
        var amount = Integer(id, inputs, "amount", 1);
        if (samples is null || amount is null || !Within(id, "amount", amount.Value, 1, 64)) return null;
        return [samples with { Latent = $"{Add(id, null, "latent.repeat", [("latent", samples.Latent)], [("amount", amount.Value)])}.repeated" }];
    }

    // ConditioningConcat → conditioning.mix (concat): conditioning_to's tokens, then conditioning_from's; to's extras.
    private ComfyValue[]? ConditioningConcat(string id, JsonObject inputs)
    {
        var to = Link<ConditioningValue>(id, inputs, "conditioning_to");
        var from = Link<ConditioningValue>(id, inputs, "conditioning_from");
        if (to is null || from is null) return null;
        var node = Add(id, null, "conditioning.mix", [("a", to.Conditioning), ("b", from.Conditioning)], [("mode", "concat")]);
        return [to with { Conditioning = $"{node}.conditioning" }];
    }

    // GrowMask → mask.expand: expand pixel steps of a 3 × 3 maximum (minimum when negative), without the corners when tapered.
    private ComfyValue[]? GrowMask(string id, JsonObject inputs)
    {
        var mask = Link<MaskValue>(id, inputs, "mask");
        var expand = Integer(id, inputs, "expand", 0);
        var tapered = Boolean(id, inputs, "tapered_corners", true);
        if (mask is null || expand is null || tapered is null || !Within(id, "expand", expand.Value, -16384, 16384)) return null;
        var node = Add(id, null, "mask.expand", [("mask", mask.Mask)], [("expand", expand.Value), ("tapered_corners", tapered.Value)]);
        return [new MaskValue($"{node}.expanded")];
    }

    // InvertMask → mask.invert (1 − value).
    private ComfyValue[]? InvertMask(string id, JsonObject inputs)
    {
        var mask = Link<MaskValue>(id, inputs, "mask");
        return mask is null ? null : [new MaskValue($"{Add(id, null, "mask.invert", [("mask", mask.Mask)], [])}.inverted")];
    }

    // ThresholdMask → mask.threshold: 1 above the value, else 0.
    private ComfyValue[]? ThresholdMask(string id, JsonObject inputs)
    {
        var mask = Link<MaskValue>(id, inputs, "mask");
        var value = Number(id, inputs, "value", 0.5);
        if (mask is null || value is null || !Within(id, "value", value.Value, 0, 1)) return null;
        return [new MaskValue($"{Add(id, null, "mask.threshold", [("mask", mask.Mask)], [("value", value.Value)])}.thresholded")];
    }

    // SolidMask → mask.solid: one value at every pixel of a width × height mask.
    private ComfyValue[]? SolidMask(string id, JsonObject inputs)
    {
        var value = Number(id, inputs, "value", 1);
        var width = Integer(id, inputs, "width", 512);
        var height = Integer(id, inputs, "height", 512);
        if (value is null || width is null || height is null) return null;
        if (!Within(id, "value", value.Value, 0, 1) | !Within(id, "width", width.Value, 1, 16384) | !Within(id, "height", height.Value, 1, 16384)) return null;
        var node = Add(id, null, "mask.solid", [], [("value", value.Value), ("width", width.Value), ("height", height.Value)]);
        return [new MaskValue($"{node}.mask")];
    }

    // VAELoader → vae.load of a file in models/vae, or of TAESD's decoder in models/vae_approx for taesd and taesdxl.
    private ComfyValue[]? VaeLoader(string id, JsonObject inputs)
    {
        if (inputs["vae_name"] is JsonValue named && named.GetValueKind() == JsonValueKind.String && TaesdName(named.GetValue<string>()))
            return TaesdLoader(id, named.GetValue<string>());
        var path = ModelFile(id, inputs, "vae_name", "vae", "VAELoader");
        if (path is null) return null;
        var node = Add(id, null, "vae.load", [], [("path", path)]);
        return [new VaeValue($"{node}.vae")];
    }

    private string? ModelFile(string id, JsonObject inputs, string input, string folder, string type)
    {
        var name = Text(id, inputs, input, null);
        if (name is null) return null;
        var path = folders.ResolveModelFile(folder, name);
        path ??= NotHereYet(id, type, name, folder, $"in models/{folder}");

        if (path is null)
        {
            var available = Api.ObjectInfo.Files(folders, folder);
            Error(id, "value_not_in_list", "Value not in list",
                $"{input}: '{name}' not in [{string.Join(", ", available.Take(50).Select(a => $"'{a}'"))}] (files in models/{folder})", input);
        }

        return path;
    }

    private ComfyValue[]? TextEncode(string id, JsonObject inputs)
    {
        var clip = Link<ClipValue>(id, inputs, "clip");
        var text = Text(id, inputs, "text", null);
        if (clip is null || text is null) return null;
        var tokens = Add(id, "tokens", "clip.tokenize", [("tokenizer", clip.Tokenizer)], [("text", text), ("syntax", promptSyntax)]);
        var encode = Add(id, null, "clip.encode", [("clip", clip.Clip), ("tokens", $"{tokens}.tokens")],
            clip.ClipSkip == 1 ? [] : [("clip_skip", (long)clip.ClipSkip)]);
        return [new ConditioningValue($"{encode}.conditioning")];
    }

    private ComfyValue[]? SetLastLayer(string id, JsonObject inputs)
    {
        var clip = Link<ClipValue>(id, inputs, "clip");
        var layer = Integer(id, inputs, "stop_at_clip_layer", -1);
        if (clip is null || layer is null) return null;
        // ComfyUI's stop_at_clip_layer -n is CLIP skip n (A1111's numbering); a later CLIPSetLastLayer replaces an earlier one.
        // SD 2.x's converted tower lacks OpenCLIP's last layer, so there -2 (ComfyUI's default for SD 2) is its last layer.
        if (clip.Sd2)
        {
            if (layer is not (-2 or -3))
            {
                Error(id, "value_not_supported", "Value not supported",
                    $"stop_at_clip_layer: {layer}: on an SD 2.x checkpoint FlowDiffusion gives -2 (the penultimate layer, SD 2's default) and -3 only; OpenCLIP's last layer (-1) is left out at conversion, as SD 2 never conditions on it", "stop_at_clip_layer");
                return null;
            }

            return [clip with { ClipSkip = ClipSkipAt(clip, layer.Value) }];
        }

        if (layer is not (-1 or -2))
        {
            Error(id, "value_not_supported", "Value not supported",
                $"stop_at_clip_layer: {layer}: FlowDiffusion's text encoder gives -1 (the last layer) and -2 (the penultimate layer, CLIP skip 2) only", "stop_at_clip_layer");
            return null;
        }

        return [clip with { ClipSkip = ClipSkipAt(clip, layer.Value) }];
    }

    // The CLIP skip of ComfyUI's last layer -n: n (A1111's numbering); on SD 2.x, whose converted tower lacks OpenCLIP's last layer, n − 1.
    private static int ClipSkipAt(ClipValue clip, long layer) => clip.Sd2 ? (int)-layer - 1 : (int)-layer;

    private ComfyValue[]? EmptyLatent(string id, JsonObject inputs)
    {
        var width = Integer(id, inputs, "width", 512);
        var height = Integer(id, inputs, "height", 512);
        var batch = Integer(id, inputs, "batch_size", 1);
        if (width is null || height is null || batch is null) return null;
        var node = Add(id, null, "latent.empty", [], [("width", width.Value), ("height", height.Value), ("batch", batch.Value)]);
        return [new LatentValue($"{node}.latent", null)];
    }

    private ComfyValue[]? Sampler(string id, JsonObject inputs, bool advanced)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var positive = Link<ConditioningValue>(id, inputs, "positive");
        var negative = Link<ConditioningValue>(id, inputs, "negative");
        var latent = Link<LatentValue>(id, inputs, "latent_image");
        var seed = Seed(id, inputs, advanced ? "noise_seed" : "seed");
        var steps = Integer(id, inputs, "steps", 20);
        var cfg = Number(id, inputs, "cfg", 8);
        var sampler = Text(id, inputs, "sampler_name", "euler");
        var scheduler = Scheduler(id, inputs);
        if (sampler is not null && KSamplers.Check(sampler) is { } samplerError)
        {
            Error(id, "value_not_in_list", "Value not in list", "sampler_name: " + samplerError, "sampler_name");
            sampler = null;
        }

        var parameters = new List<(string, object)>();
        if (advanced)
        {
            var addNoise = Choice(id, inputs, "add_noise", "enable", ["enable", "disable"]);
            var start = Integer(id, inputs, "start_at_step", 0);
            var end = Integer(id, inputs, "end_at_step", 10000);
            var leftover = Choice(id, inputs, "return_with_leftover_noise", "disable", ["enable", "disable"]);
            if (addNoise is null || start is null || end is null || leftover is null) return null;
            parameters.AddRange([("add_noise", addNoise == "enable"), ("start_step", start.Value), ("end_step", end.Value), ("return_with_leftover_noise", leftover == "enable")]);
        }
        else
        {
            var denoise = Number(id, inputs, "denoise", 1);
            if (denoise is null) return null;
            parameters.Add(("denoise", denoise.Value));
        }

        if (model is null || positive is null || negative is null || latent is null || seed is null || steps is null || cfg is null || sampler is null || scheduler is null)
            return null;

        var guider = Guide(id, model, positive.Conditioning, negative.Conditioning, cfg.Value);
        var edges = new List<(string, string)> { ("guider", guider), ("config", model.SchedulerConfig), ("latent_image", latent.Latent) };
        if (latent.Mask is not null) edges.Add(("mask", latent.Mask));
        edges.AddRange(InpaintEdges(positive, negative));
        if (PreviewVae(id, model.Checkpoint) is { } previewVae) edges.Add(("preview_vae", previewVae));
        parameters.InsertRange(0, [("seed", SeedLiteral(seed.Value)), ("steps", steps.Value), ("sampler", sampler), ("scheduler", scheduler), ("preview_every", 1L)]);
        if (model.DifferentialDiffusion > 0) parameters.Add(("differential_diffusion", model.DifferentialDiffusion));
        var node = Add(id, null, "diffusion.ksampler", edges, parameters);
        return [new LatentValue($"{node}.latent", null)];
    }

    private ComfyValue[]? VaeDecode(string id, JsonObject inputs)
    {
        var samples = Link<LatentValue>(id, inputs, "samples");
        var vae = Link<VaeValue>(id, inputs, "vae");
        if (samples is null || vae is null) return null;
        var node = Add(id, null, "vae.decode", [("vae", vae.Vae), ("latent", samples.Latent)], []);
        return [new ImageValue($"{node}.image")];
    }

    private ComfyValue[]? VaeEncode(string id, JsonObject inputs)
    {
        var pixels = Link<ImageValue>(id, inputs, "pixels");
        var vae = Link<VaeValue>(id, inputs, "vae");
        if (pixels is null || vae is null) return null;
        var node = Add(id, null, "vae.encode", [("vae", vae.Vae), ("image", pixels.Image)], []);
        return [new LatentValue($"{node}.latent", null)];
    }

    private ComfyValue[]? VaeEncodeForInpaint(string id, JsonObject inputs)
    {
        var pixels = Link<ImageValue>(id, inputs, "pixels");
        var vae = Link<VaeValue>(id, inputs, "vae");
        var mask = Link<MaskValue>(id, inputs, "mask");
        var grow = Integer(id, inputs, "grow_mask_by", 6);
        if (pixels is null || vae is null || mask is null || grow is null) return null;
        if (grow is < 0 or > 64)
        {
            Error(id, "value_not_supported", "Value not supported", $"grow_mask_by: {grow} is outside 0..64", "grow_mask_by");
            return null;
        }

        // ComfyUI encodes the image with the masked part set to grey and repaints under the mask grown by grow_mask_by:
        // inpaint.prepare's masked latents, and mask.grow for the sampler's noise mask.
        var node = Add(id, null, "inpaint.prepare", [("vae", vae.Vae), ("image", pixels.Image), ("mask", mask.Mask)], []);
        var noiseMask = grow == 0 ? mask.Mask : $"{Add(id, "grow", "mask.grow", [("mask", mask.Mask)], [("pixels", grow.Value)])}.grown";
        return [new LatentValue($"{node}.masked_latent", noiseMask)];
    }

    // InpaintModelConditioning: the image's latents (with the mask as noise mask when noise_mask), and on both conditionings
    // the masked image's latents and the mask, which a 9-channel inpainting UNet reads (other UNets ignore them).
    private ComfyValue[]? InpaintModelConditioning(string id, JsonObject inputs)
    {
        var positive = Link<ConditioningValue>(id, inputs, "positive");
        var negative = Link<ConditioningValue>(id, inputs, "negative");
        var vae = Link<VaeValue>(id, inputs, "vae");
        var pixels = Link<ImageValue>(id, inputs, "pixels");
        var mask = Link<MaskValue>(id, inputs, "mask");
        var noiseMask = Boolean(id, inputs, "noise_mask", true);
        if (positive is null || negative is null || vae is null || pixels is null || mask is null || noiseMask is null) return null;
        var node = Add(id, null, "inpaint.prepare", [("vae", vae.Vae), ("image", pixels.Image), ("mask", mask.Mask)], []);
        var concat = $"{node}.masked_latent";
        return
        [
            positive with { ConcatLatent = concat, ConcatMask = mask.Mask }, negative with { ConcatLatent = concat, ConcatMask = mask.Mask },
            new LatentValue($"{node}.latent_image", noiseMask.Value ? mask.Mask : null),
        ];
    }

    // The sampler inputs for what InpaintModelConditioning attached (the positive's, else the negative's).
    private static IEnumerable<(string, string)> InpaintEdges(ConditioningValue positive, ConditioningValue negative)
    {
        var source = positive.ConcatLatent is not null ? positive : negative;
        return source.ConcatLatent is null ? [] : [("masked_latent", source.ConcatLatent), ("inpaint_mask", source.ConcatMask!)];
    }

    private ComfyValue[]? SetNoiseMask(string id, JsonObject inputs)
    {
        var samples = Link<LatentValue>(id, inputs, "samples");
        var mask = Link<MaskValue>(id, inputs, "mask");
        return samples is null || mask is null ? null : [samples with { Mask = mask.Mask }];
    }

    private ComfyValue[]? LoadImage(string id, JsonObject inputs)
    {
        var file = InputFile(id, inputs, "image");
        if (file is null) return null;
        var node = Add(id, null, "image.load", [], [("path", file)]);
        // The MASK output is 1 − alpha, as ComfyUI defines it (0 everywhere for a file without alpha); the mask.load node is
        // added only when something links the output.
        return [new ImageValue($"{node}.image"), new LazyMask(() => $"{Add(id, "mask", "mask.load", [], [("path", file), ("channel", "alpha")])}.mask")];
    }

    private ComfyValue[]? LoadImageMask(string id, JsonObject inputs)
    {
        var file = InputFile(id, inputs, "image");
        var channel = Choice(id, inputs, "channel", "alpha", ["alpha", "red", "green", "blue"]);
        if (file is null || channel is null) return null;
        // ComfyUI reads the colour channel as is and the alpha channel inverted; mask.load's channels do the same.
        var node = Add(id, null, "mask.load", [], [("path", file), ("channel", channel)]);
        return [new MaskValue($"{node}.mask")];
    }

    private ComfyValue[]? SaveImage(string id, JsonObject inputs, string type, string? prefix)
    {
        var images = Link<ImageValue>(id, inputs, "images");
        if (images is null || prefix is null) return null;
        return SaveImages(id, images.Image, type, prefix);
    }

    // image.save of an IMAGE as the class's own node (the one /history and `executed` report), listed under ComfyUI's
    // folder type (output or temp); its PNGs carry ComfyUI's prompt and workflow in text chunks, as ComfyUI's do.
    private ComfyValue[] SaveImages(string id, string images, string type, string prefix)
    {
        // ComfyUI allows "folder/name" prefixes; ours is a plain file name inside the run's folder.
        Add(id, null, "image.save", [("images", images)], [("prefix", PlainName(prefix)), ("metadata", ComfyMetadata())]);
        outputTypes[id] = type;
        return [];
    }

    private ComfyValue[]? Combine(string id, JsonObject inputs)
    {
        var a = Link<ConditioningValue>(id, inputs, "conditioning_1");
        var b = Link<ConditioningValue>(id, inputs, "conditioning_2");
        if (a is null || b is null) return null;
        // ComfyUI averages the model's predictions over the two, not their embeddings: conditioning.combine + guidance.cfg.
        var node = Add(id, null, "conditioning.combine", [("a", a.Conditioning), ("b", b.Conditioning)], []);
        return [(a.ConcatLatent is null ? b : a) with { Conditioning = $"{node}.conditioning" }];
    }

    // LatentUpscale / ImageScale (width × height) and their "By" forms (scale_by) → latent.resize / image.resize, which
    // implement the methods ComfyUI offers on each: bislerp on latents, lanczos on images.
    private ComfyValue[]? Resize(string id, JsonObject inputs, string input, string type, string port, bool scaleBy = false)
    {
        var width = scaleBy ? 0 : Integer(id, inputs, "width", 512);
        var height = scaleBy ? 0 : Integer(id, inputs, "height", 512);
        var scale = scaleBy ? Number(id, inputs, "scale_by", 1.5) : 0;
        var method = Choice(id, inputs, "upscale_method", "nearest-exact",
            port == "latent" ? ["nearest-exact", "bilinear", "area", "bicubic", "bislerp"] : ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]);
        var crop = scaleBy ? "disabled" : Choice(id, inputs, "crop", "disabled", ["disabled", "center"]);
        if (scaleBy && scale is <= 0)
        {
            Error(id, "value_smaller_than_min", "Value smaller than min", $"scale_by: {scale} must be above 0", "scale_by");
            scale = null;
        }

        string? source;
        string? mask = null;
        if (port == "latent")
        {
            var latent = Link<LatentValue>(id, inputs, input);
            source = latent?.Latent;
            mask = latent?.Mask;
        }
        else
        {
            source = Link<ImageValue>(id, inputs, input)?.Image;
        }

        if (source is null || width is null || height is null || scale is null || method is null || crop is null) return null;
        var node = Add(id, null, type, [(port, source)], scaleBy
            ? [("scale_by", scale.Value), ("method", method)]
            : [("width", width.Value), ("height", height.Value), ("method", method), ("center_crop", crop == "center")]);
        return port == "latent" ? [new LatentValue($"{node}.resized", mask)] : [new ImageValue($"{node}.resized")];
    }

    // UpscaleModelLoader → upscale.load of an ONNX export or an ESRGAN .safetensors/.pth in models/upscale_models.
    private ComfyValue[]? UpscaleModelLoader(string id, JsonObject inputs)
    {
        var name = Text(id, inputs, "model_name", null);
        if (name is not null && !name.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) && !WeightFiles.IsWeightFile(name))
        {
            Error(id, "value_not_supported", "Value not supported", $"model_name: '{name}': FlowDiffusion runs upscale models exported to ONNX or ESRGAN/Real-ESRGAN weights (.safetensors, .pth); put NAME.onnx, NAME.safetensors or NAME.pth in models/upscale_models", "model_name");
            return null;
        }

        var path = ModelFile(id, inputs, "model_name", "upscale_models", "UpscaleModelLoader");
        if (path is null) return null;
        var node = Add(id, null, "upscale.load", [], [("path", path)]);
        return [new UpscaleModelValue($"{node}.upscale_model")];
    }

    // ImageUpscaleWithModel → image.upscale_with_model at ComfyUI's tiling (512-pixel tiles, 32 overlap).
    private ComfyValue[]? UpscaleWithModel(string id, JsonObject inputs)
    {
        var model = Link<UpscaleModelValue>(id, inputs, "upscale_model");
        var image = Link<ImageValue>(id, inputs, "image");
        if (model is null || image is null) return null;
        var node = Add(id, null, "image.upscale_with_model", [("upscale_model", model.Model), ("image", image.Image)], [("tile_size", 512L), ("overlap", 32L)]);
        return [new ImageValue($"{node}.upscaled")];
    }

    // ImagePadForOutpaint → image.pad_for_outpaint with ComfyUI's grey fill.
    private ComfyValue[]? PadForOutpaint(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var sides = new[] { "left", "top", "right", "bottom" }.Select(side => (side, Integer(id, inputs, side, 0))).ToList();
        var feathering = Integer(id, inputs, "feathering", 40);
        if (image is null || feathering is null || sides.Any(s => s.Item2 is null)) return null;
        var node = Add(id, null, "image.pad_for_outpaint", [("image", image.Image)],
            [.. sides.Select(s => (s.side, (object)s.Item2!.Value)), ("feathering", feathering.Value), ("fill", "grey")]);
        return [new ImageValue($"{node}.padded"), new MaskValue($"{node}.mask")];
    }

    // VAEDecodeTiled / VAEEncodeTiled → vae.decode_tiled / vae.encode_tiled (video models' temporal tiling does not apply).
    private ComfyValue[]? VaeTiled(string id, JsonObject inputs, bool decode)
    {
        var vae = Link<VaeValue>(id, inputs, "vae");
        var tile = Integer(id, inputs, "tile_size", 512);
        var overlap = Integer(id, inputs, "overlap", 64);
        if (decode)
        {
            var samples = Link<LatentValue>(id, inputs, "samples");
            if (samples is null || vae is null || tile is null || overlap is null) return null;
            var node = Add(id, null, "vae.decode_tiled", [("vae", vae.Vae), ("latent", samples.Latent)], [("tile_size", tile.Value), ("overlap", overlap.Value)]);
            return [new ImageValue($"{node}.image")];
        }

        var pixels = Link<ImageValue>(id, inputs, "pixels");
        if (pixels is null || vae is null || tile is null || overlap is null) return null;
        var encode = Add(id, null, "vae.encode_tiled", [("vae", vae.Vae), ("image", pixels.Image)], [("tile_size", tile.Value), ("overlap", overlap.Value)]);
        return [new LatentValue($"{encode}.latent", null)];
    }

    private string Add(string comfyId, string? role, string type, IEnumerable<(string Port, string Source)> edges, IEnumerable<(string Name, object Value)> parameters)
    {
        var id = NodeId(comfyId, role);
        var inputEdges = edges.Select(e =>
        {
            var dot = e.Source.IndexOf('.', StringComparison.Ordinal);
            return new NodeEdge(e.Port, e.Source[..dot], e.Source[(dot + 1)..]);
        }).ToList();
        nodes.Add(new WorkflowNode(id, type, inputEdges, parameters.Select(p => new NodeParameter(p.Name, new LiteralValue(p.Value))).ToList(),
            Title: role is null ? $"{classTypes[comfyId]} #{comfyId}" : null));
        comfyIdOf[id] = comfyId;
        return id;
    }

    // keepsAlpha: the reader takes a JoinImageWithAlpha's alpha along (SplitImageWithAlpha); any other reader of such an
    // image is warned that it gets the colours only.
    private T? Link<T>(string id, JsonObject inputs, string name, bool keepsAlpha = false) where T : ComfyValue
    {
        var value = inputs[name];
        if (value is null)
        {
            Error(id, "required_input_missing", "Required input is missing", name, name);
            return null;
        }

        if (value is not JsonArray { Count: 2 } link || link[0] is not JsonValue source || link[1] is not JsonValue slot
            || !TryInteger(slot, out var index))
        {
            Error(id, "invalid_input_type", "Input is not a link", $"{name}: expected a link [node_id, output_index], got {value.ToJsonString()}", name);
            return null;
        }

        var sourceId = source.GetValueKind() == JsonValueKind.String ? source.GetValue<string>() : source.ToJsonString();
        if (prompt[sourceId] is null)
        {
            Error(id, "invalid_input_type", "Linked node does not exist", $"{name}: node '{sourceId}' is not in the prompt", name);
            return null;
        }

        var outputs = ConvertNode(sourceId);
        if (outputs is null)
        {
            Error(id, "dependency_failed", "Linked node has errors", $"{name}: node '{sourceId}' ({classTypes.GetValueOrDefault(sourceId)}) could not be converted", name);
            return null;
        }

        if (index < 0 || index >= outputs.Length)
        {
            Error(id, "invalid_input_type", "Output index out of range", $"{name}: node '{sourceId}' has {outputs.Length} outputs, not {index + 1}", name);
            return null;
        }

        if (outputs[index] is LazyMask lazy)
        {
            outputs[index] = new MaskValue(lazy.Create());
        }

        switch (outputs[index])
        {
            case ImageValue { Alpha: not null } joined when !keepsAlpha && typeof(T) == typeof(ImageValue):
                warnings.Add($"node {id} ({classTypes[id]}): {name} is an image JoinImageWithAlpha gave an alpha; FlowDiffusion's images are RGB, so this node reads the colours only (a SplitImageWithAlpha reads the alpha back as a mask)");
                return (T)(ComfyValue)new ImageValue(joined.Image);
            case T typed:
                return typed;
            case UnsupportedOutput unsupported:
                Error(id, "value_not_supported", "Output not supported", $"{name}: {unsupported.Why}", name);
                return null;
            case var other:
                Error(id, "return_type_mismatch", "Return type mismatch between linked nodes",
                    $"{name}: received_type({other.ComfyType}) mismatch input_type({typeof(T).Name.Replace("Value", "", StringComparison.Ordinal).ToUpperInvariant()})", name);
                return null;
        }
    }

    private string? InputFile(string id, JsonObject inputs, string name)
    {
        var image = Text(id, inputs, name, null);
        if (image is null) return null;
        // ComfyUI annotates names as "file.png [input]", "[output]" or "[temp]": the annotation names the folder.
        if (folders.ResolveAnnotated(image) is { } file) return file;
        var (bare, folder) = ComfyFolders.Annotated(image);
        if (!requireFiles)
        {
            warnings.Add($"node {id} ({classTypes[id]}): image '{bare}' is not uploaded here; the workflow reads {bare} from the working folder");
            return bare;
        }

        Error(id, "value_not_in_list", "Invalid image file", folder is null or "input"
            ? $"{name}: '{image}' is not an uploaded image (POST /upload/image first)"
            : $"{name}: '{image}' is not an image in the {folder} folder{(folders.OutputFolder is null ? " (this host serves no outputs)" : "")}", name);
        return null;
    }

    private string? Text(string id, JsonObject inputs, string name, string? fallback)
    {
        if (!TryWidget(id, inputs, name, "STRING", out var value)) return null;
        if (value is null)
        {
            if (fallback is null) Error(id, "required_input_missing", "Required input is missing", name, name);
            return fallback;
        }

        if (value is JsonValue v && v.GetValueKind() == JsonValueKind.String) return v.GetValue<string>();
        Error(id, "invalid_input_type", "Invalid input type", $"{name}: expected a string, got {Describe(value)}", name);
        return null;
    }

    private string? Choice(string id, JsonObject inputs, string name, string fallback, string[] choices)
    {
        var value = Text(id, inputs, name, fallback);
        if (value is null || choices.Contains(value)) return value;
        Error(id, "value_not_in_list", "Value not in list", $"{name}: '{value}' not in [{string.Join(", ", choices.Select(c => $"'{c}'"))}]", name);
        return null;
    }

    private long? Integer(string id, JsonObject inputs, string name, long fallback)
    {
        if (!TryWidget(id, inputs, name, "INT", out var value)) return null;
        if (value is null) return fallback;
        if (value is JsonValue v && TryInteger(v, out var integer)) return integer;
        Error(id, "invalid_input_type", "Failed to convert an input value to a INT value", $"{name}: {Describe(value)}", name);
        return null;
    }

    private double? Number(string id, JsonObject inputs, string name, double fallback)
    {
        if (!TryWidget(id, inputs, name, "FLOAT", out var value)) return null;
        if (value is null) return fallback;
        if (JsonNumbers.Number(value) is { } number) return number;
        if (value is JsonValue s && s.GetValueKind() == JsonValueKind.String && double.TryParse(s.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && double.IsFinite(parsed))
            return parsed;
        Error(id, "invalid_input_type", "Failed to convert an input value to a FLOAT value", $"{name}: {Describe(value)}", name);
        return null;
    }

    // A BOOLEAN input: JSON true or false, 0 or 1, or the strings "true" and "false".
    private bool? Boolean(string id, JsonObject inputs, string name, bool fallback)
    {
        if (!TryWidget(id, inputs, name, "BOOLEAN", out var value)) return null;
        if (value is null) return fallback;
        if (value is JsonValue v)
        {
            switch (v.GetValueKind())
            {
                case JsonValueKind.True: return true;
                case JsonValueKind.False: return false;
                case JsonValueKind.String when v.GetValue<string>() is "true" or "false": return v.GetValue<string>() == "true";
                case JsonValueKind.Number when JsonNumbers.Integer(v) is 0 or 1: return JsonNumbers.Integer(v) == 1;
            }
        }

        Error(id, "invalid_input_type", "Failed to convert an input value to a BOOLEAN value", $"{name}: {Describe(value)}", name);
        return null;
    }

    // ComfyUI's range errors for a number input outside min … max.
    private bool Within(string id, string name, double value, double min, double max)
    {
        if (value < min) Error(id, "value_smaller_than_min", "Value smaller than min", $"{name}: {value.ToString(CultureInfo.InvariantCulture)} is below {min.ToString(CultureInfo.InvariantCulture)}", name);
        else if (value > max) Error(id, "value_bigger_than_max", "Value bigger than max", $"{name}: {value.ToString(CultureInfo.InvariantCulture)} is above {max.ToString(CultureInfo.InvariantCulture)}", name);
        else return true;
        return false;
    }

    private static bool TryInteger(JsonValue value, out long result)
    {
        result = 0;
        if (JsonNumbers.Integer(value) is { } number)
        {
            result = number;
            return true;
        }

        return value.GetValueKind() == JsonValueKind.String && long.TryParse(value.GetValue<string>(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out result);
    }

    private static string Describe(JsonNode value)
    {
        var text = value.ToJsonString();
        return text.Length > 80 ? text[..80] + "…" : text;
    }

    private void Error(string id, string type, string message, string details, string? input = null)
    {
        if (!errors.TryGetValue(id, out var list)) errors[id] = list = [];
        list.Add(new ComfyNodeError(type, message, details, input));
    }

    private sealed record UnsupportedOutput(string Why) : ComfyValue("UNSUPPORTED");

    // A MASK output whose node is added the first time something links it.
    private sealed record LazyMask(Func<string> Create) : ComfyValue("MASK");
}
