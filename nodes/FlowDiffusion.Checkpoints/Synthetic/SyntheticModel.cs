using FlowDiffusion.Checkpoints.Export;

namespace FlowDiffusion.Checkpoints.Synthetic;

/// <summary>
/// A diffusers-ONNX model folder of an <see cref="Sd1Layout"/> with random weights (deterministic by seed), made the way
/// a user's checkpoint is imported: a random checkpoint is written beside the target, converted by
/// <see cref="DiffusersOnnxFolder"/>, then deleted. For benchmarks at real scale, where no trained weights can be had.
/// </summary>
public static class SyntheticModel
{
    /// <summary>Writes the model folder at <paramref name="target"/>, which must not exist yet.</summary>
    /// <param name="layout">The architecture, e.g. <see cref="Sd1Layout.Sd15"/>.</param>
    /// <param name="target">The folder to create.</param>
    /// <param name="tokenizerFolder">A CLIP tokenizer folder (vocab.json + merges.txt) copied into the model; its ids must stay below the layout's vocabulary.</param>
    /// <param name="seed">The weights' seed.</param>
    /// <param name="float16">An fp16 export instead of fp32.</param>
    public static void Generate(Sd1Layout layout, string target, string tokenizerFolder, ulong seed, bool float16)
    {
        var full = Path.GetFullPath(target);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var weights = full + ".checkpoint-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            RandomCheckpoint.Write(layout, weights, seed);
            using var checkpoint = Sd1Checkpoint.Open(weights);
            DiffusersOnnxFolder.Write(checkpoint, full, tokenizerFolder, float16: float16);
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
