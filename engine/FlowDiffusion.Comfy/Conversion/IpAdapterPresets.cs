using System.Text.RegularExpressions;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// IPAdapterUnifiedLoader's presets (ComfyUI's IPAdapter_plus pack): each picks the first file, in ComfyUI's sorted file
/// list of models/ipadapter or models/clip_vision, whose name matches the pack's pattern for the preset and the model's
/// family (case-insensitive search). FULL FACE is refused: its MLP projection is not an adapter ipadapter.load reads.
/// </summary>
internal static class IpAdapterPresets
{
    /// <summary>The presets, as the pack lists them.</summary>
    public static readonly string[] Names =
    [
        "LIGHT - SD1.5 only (low strength)", "STANDARD (medium strength)", "VIT-G (medium strength)", "PLUS (high strength)", "PLUS FACE (portraits)",
        "FULL FACE - SD1.5 only (portraits stronger)",
    ];

    // The file extensions ComfyUI lists in these folders (folder_paths.supported_pt_extensions).
    private static readonly string[] Listed = [".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"];

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    /// <summary>The CLIP vision file for <paramref name="preset"/> among <paramref name="files"/>, or null.</summary>
    public static string? ClipVision(string preset, IEnumerable<string> files) =>
        First(files, preset.StartsWith("VIT-G", StringComparison.OrdinalIgnoreCase)
            ? @"(ViT.bigG.14.*39B.b160k|ipadapter.*sdxl|sdxl.*model)\.(bin|safetensors)"
            : @"(ViT.H.14.*s32B.b79K|ipadapter.*sd15|sd1.?5.*model)\.(bin|safetensors)");

    /// <summary>
    /// The IP-Adapter file for <paramref name="preset"/> among <paramref name="files"/> (null: none matches), or why the
    /// preset cannot be used for the model's family.
    /// </summary>
    public static (string? File, string? Refusal) Adapter(string preset, bool sdxl, IReadOnlyList<string> files)
    {
        var p = preset.ToLowerInvariant();
        string pattern;
        if (p.StartsWith("light", StringComparison.Ordinal))
        {
            if (sdxl) return (null, "the LIGHT preset is for SD 1.5 models only (the pack: light model is not supported for SDXL)");
            pattern = First(files, @"sd15.light.v11\.(safetensors|bin)$") is null ? @"sd15.light\.(safetensors|bin)$" : @"sd15.light.v11\.(safetensors|bin)$";
        }
        else if (p.StartsWith("standard", StringComparison.Ordinal))
        {
            pattern = sdxl ? @"ip.adapter.sdxl.vit.h\.(safetensors|bin)$" : @"ip.adapter.sd15\.(safetensors|bin)$";
        }
        else if (p.StartsWith("vit-g", StringComparison.Ordinal))
        {
            pattern = sdxl ? @"ip.adapter.sdxl\.(safetensors|bin)$" : @"sd15.vit.g\.(safetensors|bin)$";
        }
        else if (p.StartsWith("plus (", StringComparison.Ordinal))
        {
            pattern = sdxl ? @"plus.sdxl.vit.h\.(safetensors|bin)$" : @"ip.adapter.plus.sd15\.(safetensors|bin)$";
        }
        else if (p.StartsWith("plus face", StringComparison.Ordinal))
        {
            pattern = sdxl ? @"plus.face.sdxl.vit.h\.(safetensors|bin)$" : @"plus.face.sd15\.(safetensors|bin)$";
        }
        else
        {
            return (null, "the FULL FACE adapter's MLP projection is not supported by FlowDiffusion's ipadapter.load (LIGHT, STANDARD, VIT-G, PLUS and PLUS FACE are)");
        }

        return (First(files, pattern), null);
    }

    /// <summary>The names ComfyUI lists for a model folder: files with its model extensions, sorted.</summary>
    public static IEnumerable<string> ListedFiles(IEnumerable<string> files) =>
        files.Where(f => Listed.Any(e => f.EndsWith(e, StringComparison.OrdinalIgnoreCase))).Order(StringComparer.Ordinal);

    private static string? First(IEnumerable<string> files, string pattern) =>
        ListedFiles(files).FirstOrDefault(f => Regex.IsMatch(f, pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, Timeout));
}
