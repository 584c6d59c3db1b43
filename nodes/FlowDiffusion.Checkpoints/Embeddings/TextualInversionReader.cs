using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Embeddings;

/// <summary>
/// Reads textual-inversion embeddings from <c>.safetensors</c> files: A1111's <c>emb_params</c>, the per-encoder
/// <c>clip_l</c>/<c>clip_g</c> of SDXL-era files, and <c>string_to_param.*</c> (A1111's <c>.pt</c> layout saved as
/// safetensors). The tensor whose width matches the text encoder is taken. Pickle files (<c>.pt</c>, <c>.bin</c>)
/// are refused: reading them means running code they contain.
/// </summary>
public static class TextualInversionReader
{
    /// <summary>The file extension embeddings are read from.</summary>
    public const string Extension = ".safetensors";

    private const int MaxVectors = 75;

    /// <summary>The embedding files in <paramref name="folder"/> (and its subfolders) by name, ordinally sorted; empty when the folder does not exist.</summary>
    /// <remarks>Pickle files are listed too, so a prompt naming one gets the refusal rather than "not found".</remarks>
    public static IReadOnlyList<(string Name, string Path)> List(string folder) => !Directory.Exists(folder)
        ? []
        : Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 4 })
            .Where(f => IsEmbeddingFile(f))
            .Select(f => (System.IO.Path.GetFileNameWithoutExtension(f), f))
            .GroupBy(e => e.Item1, StringComparer.Ordinal)
            .Select(g => g.OrderBy(e => e.f.EndsWith(Extension, StringComparison.OrdinalIgnoreCase) ? 0 : 1).First())
            .OrderBy(e => e.Item1, StringComparer.Ordinal)
            .ToArray();

    /// <summary>Whether <paramref name="path"/> has an embedding file's extension (.safetensors, or a pickle .pt/.bin to refuse).</summary>
    public static bool IsEmbeddingFile(string path) =>
        path.EndsWith(Extension, StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pt", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Reads the embedding in <paramref name="path"/> for a text encoder of <paramref name="width"/>; with
    /// <paramref name="tensor"/> (SDXL's <c>clip_l</c> or <c>clip_g</c>) that tensor, whose name says which tower it is for.
    /// </summary>
    /// <exception cref="CheckpointException">A pickle file, no embedding tensor, none of that width, or too many vectors; the message names the file.</exception>
    public static TextualInversion Read(string path, int width, string? tensor = null)
    {
        if (!path.EndsWith(Extension, StringComparison.OrdinalIgnoreCase))
        {
            throw new CheckpointException($"{path}: a pickle embedding (.pt/.bin) is not read, because loading one runs code it contains; "
                + "convert it to .safetensors (e.g. A1111's or ComfyUI's tools, or safetensors.torch.save_file({'emb_params': tensor}, ...)).");
        }

        using var file = SafetensorsFile.Open(path);
        var candidates = file.Tensors.Values
            .Where(t => t.Name is "emb_params" or "clip_l" or "clip_g" || t.Name.StartsWith("string_to_param", StringComparison.Ordinal))
            .ToArray();
        if (candidates.Length == 0)
        {
            throw new CheckpointException($"{path}: no textual-inversion tensor (emb_params, clip_l, clip_g or string_to_param.*); the file holds "
                + string.Join(", ", file.Tensors.Keys.Order(StringComparer.Ordinal).Take(5)) + ".");
        }

        if (tensor is not null)
        {
            // SDXL: one vector table per tower, told apart by name (both towers may be equally wide).
            candidates = candidates.Where(t => t.Name == tensor).ToArray();
            if (candidates.Length == 0)
            {
                throw new CheckpointException($"{path}: no '{tensor}' tensor; an SDXL embedding holds clip_l (CLIP ViT-L) and clip_g (OpenCLIP) vectors, and this file has "
                    + string.Join(", ", file.Tensors.Keys.Order(StringComparer.Ordinal).Take(5)) + " (an SD 1.x embedding?).");
            }
        }

        var chosen = candidates.FirstOrDefault(t => t.Shape.Length is 1 or 2 && t.Shape[^1] == width)
            ?? throw new CheckpointException($"{path}: the embedding is for a text encoder of width "
                + string.Join(" or ", candidates.Select(t => $"{t.Shape.LastOrDefault()} ({t.Name})")) + $", not this model's {width}.");
        var count = chosen.Shape.Length == 1 ? 1 : (int)Math.Min(chosen.Shape[0], int.MaxValue);
        if (count is 0 or > MaxVectors)
        {
            throw new CheckpointException($"{path}: tensor '{chosen.Name}' has {chosen.Shape[0]} vectors; an embedding has 1 to {MaxVectors}.");
        }

        return new TextualInversion(System.IO.Path.GetFileNameWithoutExtension(path), path, count, width, file.ReadFloat32(chosen.Name));
    }
}
