namespace FlowDiffusion.Formats.Safetensors;

/// <summary>
/// The weight files <see cref="SafetensorsFile.Open"/> reads, by extension: safetensors (<c>.safetensors</c>, <c>.sft</c>)
/// and PyTorch's checkpoints (<c>.ckpt</c>, <c>.pt</c>, <c>.pth</c>, <c>.bin</c>), which it reads without running their
/// pickles. ComfyUI lists the same names (its <c>supported_pt_extensions</c>, less the formats that are not weights).
/// </summary>
public static class WeightFiles
{
    /// <summary>The extensions, lower case with the dot, safetensors first.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".bin"];

    /// <summary>Whether <paramref name="path"/> names a weight file (by its extension, in any case).</summary>
    public static bool IsWeightFile(string path) => Extensions.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase));
}
