using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>comfyui_controlnet_aux's AnyLineArtPreprocessor_aux (Anyline) as image.teed on MTEED.pth, a lineart node and image.anyline.</summary>
public sealed partial class ApiPromptConverter
{
    /// <summary>Anyline's MTEED weights (TheMistoAI/MistoLine's Anyline/MTEED.pth, a TEED checkpoint) in models/annotators.</summary>
    internal const string MteedWeightsFile = "MTEED.pth";

    /// <summary>aux's merge_with_lineart choices (its spelling, lineart_realisitic included), its default first.</summary>
    internal static readonly string[] AnylineLinearts = ["lineart_standard", "lineart_realisitic", "lineart_anime", "manga_line"];

    /// <summary>The resolution AnyLineArtPreprocessor_aux defaults to.</summary>
    internal const int AnylineDefaultResolution = 1280;

    // AnyLineArtPreprocessor_aux → image.teed (MTEED.pth, safe steps 2, as aux's TEDDetector call) and the lineart aux
    // merges with (standard: sigma 2, threshold 3; realistic: sk_model.pth, not coarse; anime: netG.pth; manga: erika.pth)
    // at one resolution, then image.anyline with the bounds, minimum size and connectivity.
    private ComfyValue[]? AnylinePreprocessor(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var merge = Choice(id, inputs, "merge_with_lineart", AnylineLinearts[0], AnylineLinearts);
        var resolution = Integer(id, inputs, "resolution", AnylineDefaultResolution);
        var lower = Number(id, inputs, "lineart_lower_bound", 0);
        var upper = Number(id, inputs, "lineart_upper_bound", 1);
        var minSize = Integer(id, inputs, "object_min_size", 36);
        var connectivity = Integer(id, inputs, "object_connectivity", 1);
        if (image is null || merge is null || resolution is null || lower is null || upper is null || minSize is null || connectivity is null
            || !Within(id, "resolution", resolution.Value, 64, 16384) | !Within(id, "lineart_lower_bound", lower.Value, 0, 1)
            | !Within(id, "lineart_upper_bound", upper.Value, 0, 1) | !Within(id, "object_min_size", minSize.Value, 1, 16384)
            | !Within(id, "object_connectivity", connectivity.Value, 1, 16384))
            return null;
        var mteed = AnnotatorFile(id, "AnyLineArtPreprocessor_aux", "Anyline's MTEED weights", [MteedWeightsFile], "TheMistoAI/MistoLine's Anyline folder, as comfyui_controlnet_aux downloads it");
        var lineartFile = merge switch
        {
            "lineart_realisitic" => AnnotatorFile(id, "AnyLineArtPreprocessor_aux with lineart_realisitic", "the lineart annotator's weights", [LineartWeightsFiles.Realistic], AnnotatorsSource, "merge_with_lineart"),
            "lineart_anime" => AnnotatorFile(id, "AnyLineArtPreprocessor_aux with lineart_anime", "the anime lineart annotator's weights", [AnimeLineartWeightsFile], AnnotatorsSource, "merge_with_lineart"),
            "manga_line" => AnnotatorFile(id, "AnyLineArtPreprocessor_aux with manga_line", "MangaLineExtraction's weights", [MangaLineWeightsFile], AnnotatorsSource, "merge_with_lineart"),
            _ => "",
        };
        if (mteed is null || lineartFile is null) return null;

        var edges = Add(id, "mteed", "image.teed", [("image", image.Image)], [("model", mteed), ("resolution", resolution.Value), ("safe_steps", 2)]);
        var lines = merge switch
        {
            "lineart_realisitic" => Add(id, "lineart", "image.lineart", [("image", image.Image)], [("model", lineartFile), ("resolution", resolution.Value)]),
            "lineart_anime" => Add(id, "lineart", "image.lineart_anime", [("image", image.Image)], [("model", lineartFile), ("resolution", resolution.Value)]),
            "manga_line" => Add(id, "lineart", "image.manga_lineart", [("image", image.Image)], [("model", lineartFile), ("resolution", resolution.Value), ("variant", "aux")]),
            _ => Add(id, "lineart", "image.lineart_standard", [("image", image.Image)], [("gaussian_sigma", 2.0), ("intensity_threshold", 3), ("resolution", resolution.Value)]),
        };
        var node = Add(id, null, "image.anyline", [("edges", $"{edges}.result"), ("lines", $"{lines}.result")],
            [("lower_bound", lower.Value), ("upper_bound", upper.Value), ("min_size", minSize.Value), ("connectivity", connectivity.Value)]);
        return [new ImageValue($"{node}.result")];
    }
}
