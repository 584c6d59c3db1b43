using FlowDiffusion.Checkpoints.Export;

namespace FlowDiffusion.Checkpoints.Synthetic;

/// <summary>
/// A diffusers-ONNX model folder of an <see cref="Sd1Layout"/> or <see cref="SdxlLayout"/> with random weights
/// (deterministic by seed), made the way a user's checkpoint is imported: a random checkpoint is written beside the
/// target, converted by <see cref="DiffusersOnnxFolder"/> or <see cref="SdxlOnnxFolder"/>, then deleted. For benchmarks at real scale, where no trained weights can be had.
/// </summary>
public static class SyntheticModel
{
    /// <summary>Writes the model folder at <paramref name="target"/>, which must not exist yet.</summary>
    /// <param name="layout">The architecture, e.g. <see cref="Sd1Layout.Sd15"/>.</param>
    /// <param name="target">The folder to create.</param>
    /// <param name="tokenizerFolder">A CLIP tokenizer folder (vocab.json + merges.txt) copied into the model; its ids must stay below the layout's vocabulary.</param>
    /// <param name="seed">The weights' seed.</param>
    /// <param name="float16">An fp16 export instead of fp32.</param>
    public static void Generate(Sd1Layout layout, string target, string tokenizerFolder, ulong seed, bool float16) =>
        Convert(target, weights => RandomCheckpoint.Write(layout, weights, seed), (weights, full) =>
        {
            using var checkpoint = Sd1Checkpoint.Open(weights);
            DiffusersOnnxFolder.Write(checkpoint, full, tokenizerFolder, float16: float16);
        });

    /// <summary>
    /// Writes an SDXL diffusers-ONNX folder (float32: <see cref="SdxlOnnxFolder"/> exports no fp16) at
    /// <paramref name="target"/>, which must not exist yet; <paramref name="tokenizerFolder"/> serves as both tokenizers.
    /// </summary>
    /// <param name="layout">The architecture, e.g. <see cref="SdxlLayout.Sdxl"/>.</param>
    /// <param name="target">The folder to create.</param>
    /// <param name="tokenizerFolder">A CLIP tokenizer folder whose ids stay below the layout's vocabulary.</param>
    /// <param name="seed">The weights' seed.</param>
    public static void Generate(SdxlLayout layout, string target, string tokenizerFolder, ulong seed) =>
        Convert(target, weights => RandomCheckpoint.Write(layout, weights, seed), (weights, full) =>
        {
            using var checkpoint = SdxlCheckpoint.Open(weights);
            SdxlOnnxFolder.Write(checkpoint, full, tokenizerFolder);
        });

    // The random checkpoint is written beside the target and deleted once converted (or on failure).
    private static void Convert(string target, Action<string> write, Action<string, string> convert)
    {
        var full = Path.GetFullPath(target);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var weights = full + ".checkpoint-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            write(weights);
            convert(weights, full);
        }
        finally
        {
            if (Directory.Exists(weights))
            {
                Directory.Delete(weights, recursive: true);
            }
        }
    }
}
