using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// The sd-webui-controlnet extension's control types (<c>GET /controlnet/control_types</c>): each tag of the modules
/// FlowDiffusion runs, with the modules that carry it (and none), the models whose names hold the type, and the defaults
/// the extension's <c>select_control_type</c> picks; "All" lists every module and model.
/// </summary>
public static class A1111ControlNetTypes
{
    /// <summary>The extension's tags of each module, by name (a module not here is listed under "All" only).</summary>
    public static IReadOnlyDictionary<string, string[]> Tags { get; } = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["none"] = ["InstructP2P"],
        ["canny"] = ["Canny"],
        ["invert"] = ["Canny", "Lineart", "Scribble", "MLSD"],
        ["dw_openpose_full"] = ["OpenPose"],
        ["openpose"] = ["OpenPose"],
        ["openpose_hand"] = ["OpenPose"],
        ["openpose_face"] = ["OpenPose"],
        ["openpose_faceonly"] = ["OpenPose"],
        ["openpose_full"] = ["OpenPose"],
        ["lineart_standard"] = ["Lineart"],
        ["scribble_xdog"] = ["Scribble", "SparseCtrl"],
        ["color"] = ["T2I-Adapter"],
        ["pidinet_sketch"] = ["T2I-Adapter"],
        ["tile_resample"] = ["Tile"],
        ["softedge_hed"] = ["SoftEdge"],
        ["softedge_hedsafe"] = ["SoftEdge"],
        ["scribble_hed"] = ["Scribble", "SparseCtrl"],
        ["softedge_pidinet"] = ["SoftEdge"],
        ["softedge_pidisafe"] = ["SoftEdge"],
        ["softedge_teed"] = ["SoftEdge"],
        ["scribble_pidinet"] = ["Scribble", "SparseCtrl"],
        ["lineart"] = ["Lineart"],
        ["lineart_coarse"] = ["Lineart"],
        ["lineart_anime"] = ["Lineart"],
        ["lineart_anime_denoise"] = ["Lineart"],
        ["mlsd"] = ["MLSD"],
        ["recolor_luminance"] = ["Recolor"],
        ["recolor_intensity"] = ["Recolor"],
        ["normal_bae"] = ["NormalMap"],
        ["shuffle"] = ["Shuffle"],
        ["blur_gaussian"] = ["Tile"],
    };

    // The extension's extra name filters of a tag, beside the tag itself (it adds "union" for the union ControlNet's types;
    // union models are not matched here).
    private static readonly Dictionary<string, string[]> Filters = new(StringComparer.Ordinal)
    {
        ["instructp2p"] = ["ip2p"], ["segmentation"] = ["seg"], ["normalmap"] = ["normal"], ["t2i-adapter"] = ["t2i_adapter", "t2iadapter", "t2ia"],
        ["ip-adapter"] = ["ip_adapter", "ipadapter"], ["openpose"] = ["openpose", "densepose"],
        ["scribble"] = ["sketch"], ["tile"] = ["blur"],
    };

    /// <summary>The <c>/controlnet/control_types</c> answer for the modules and models that are there.</summary>
    public static JsonObject List(ComfyFolders folders)
    {
        var modules = A1111ControlNetModules.Sorted(folders);
        List<string> models = ["None", .. A1111ControlNetModels.List(folders)];
        var types = new JsonObject { ["All"] = Type([.. modules.Select(m => m.Label)], models, "none", "None") };
        foreach (var tag in modules.SelectMany(m => Tags.GetValueOrDefault(m.Name, [])).Distinct().Order(StringComparer.Ordinal))
        {
            var pattern = tag.ToLowerInvariant();
            var filters = Filters.GetValueOrDefault(pattern, []);
            var matching = models.Where(m => m == "None" || m.ToLowerInvariant().Contains(pattern, StringComparison.Ordinal) || filters.Any(f => m.ToLowerInvariant().Contains(f, StringComparison.Ordinal))).ToList();
            // The first model past None, or the first whose name (before its hash) holds "11" (the v1.1 ControlNets).
            var model = matching.Count == 1 ? "None" : matching.Skip(1).FirstOrDefault(m => m.Split('[')[0].Contains("11", StringComparison.Ordinal)) ?? matching[1];
            var labels = modules.Where(m => m.Name == "none" || Tags.GetValueOrDefault(m.Name, []).Contains(tag)).Select(m => m.Label).ToList();
            types[tag] = Type(labels, matching, labels.Count == 1 ? labels[0] : labels[1], model);
        }

        return new JsonObject { ["control_types"] = types };
    }

    private static JsonObject Type(IEnumerable<string> modules, IEnumerable<string> models, string module, string model) => new()
    {
        ["module_list"] = new JsonArray([.. modules.Select(m => (JsonNode)JsonValue.Create(m))]),
        ["model_list"] = new JsonArray([.. models.Select(m => (JsonNode)JsonValue.Create(m))]),
        ["default_option"] = module,
        ["default_model"] = model,
    };
}
