using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Taesd;

/// <summary>
/// TAESD's files as ComfyUI names them in <c>models/vae_approx</c>: <c>{name}_encoder.{ext}</c> and
/// <c>{name}_decoder.{ext}</c>, where the name says the model family and so the latent scaling factor — <c>taesd</c>
/// SD 1.x (0.18215), <c>taesdxl</c> SDXL (0.13025). <c>taesd3</c> and <c>taef1</c> (16-channel latents) are refused.
/// </summary>
public static class TaesdFiles
{
    /// <summary>The VAELoader names this engine loads, with their scaling factors (ComfyUI's <c>load_taesd</c>).</summary>
    public static IReadOnlyList<(string Name, float ScalingFactor)> Supported { get; } = [("taesd", 0.18215f), ("taesdxl", 0.13025f)];

    /// <summary>The VAELoader names ComfyUI lists that this engine refuses.</summary>
    public static IReadOnlyList<string> Refused { get; } = ["taesd3", "taef1"];

    /// <summary>Whether <paramref name="path"/> is named as a TAESD half: <c>tae…_encoder</c> or <c>tae…_decoder</c> with a weight file's extension.</summary>
    public static bool IsTaesdFile(string path) => NameOf(path) is not null;

    /// <summary>The file of <paramref name="part"/> of TAESD <paramref name="name"/> in <paramref name="folder"/> (the first by extension), or null.</summary>
    public static string? Find(string folder, string name, TaesdPart part)
    {
        if (!Directory.Exists(folder)) return null;
        var stem = $"{name}_{Suffix(part)}";
        return WeightFiles.Extensions.Select(e => Path.Combine(folder, stem + e)).FirstOrDefault(File.Exists);
    }

    /// <summary>The other half beside <paramref name="path"/> (a TAESD file), or null when absent.</summary>
    public static string? Beside(string path, TaesdPart part) =>
        NameOf(path) is { } named ? Find(Path.GetDirectoryName(Path.GetFullPath(path))!, named.Name, part) : null;

    /// <summary>Which half <paramref name="path"/> is named as (a TAESD file).</summary>
    public static TaesdPart PartOf(string path) => NameOf(path)?.Part ?? throw new ArgumentException($"'{path}' is not named as a TAESD file (taesd_decoder.pth, taesd_encoder.pth, …)", nameof(path));

    /// <summary>
    /// The latent scaling factor of the family <paramref name="path"/>'s name says (0.18215 unless it names SDXL's
    /// <c>taesdxl</c>); throws a <see cref="CheckpointException"/> for <c>taesd3</c> and <c>taef1</c>.
    /// </summary>
    public static float ScalingFactorOf(string path)
    {
        var name = NameOf(path)?.Name ?? throw new ArgumentException($"'{path}' is not named as a TAESD file", nameof(path));
        if (Refused.Contains(name, StringComparer.OrdinalIgnoreCase))
            throw new CheckpointException($"{path}: {name} is the TAESD of a 16-channel latent model (SD3, FLUX); FlowDiffusion loads taesd (SD 1.x) and taesdxl (SDXL) only.");
        return Supported.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase)) is { Name: not null } known ? known.ScalingFactor : Supported[0].ScalingFactor;
    }

    private static string Suffix(TaesdPart part) => part == TaesdPart.Encoder ? "encoder" : "decoder";

    private static (string Name, TaesdPart Part)? NameOf(string path)
    {
        var file = Path.GetFileName(path);
        if (!WeightFiles.IsWeightFile(file) || !file.StartsWith("tae", StringComparison.OrdinalIgnoreCase)) return null;
        var stem = Path.GetFileNameWithoutExtension(file);
        foreach (var part in new[] { TaesdPart.Encoder, TaesdPart.Decoder })
        {
            var suffix = "_" + Suffix(part);
            if (stem.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) && stem.Length > suffix.Length) return (stem[..^suffix.Length], part);
        }

        return null;
    }
}
