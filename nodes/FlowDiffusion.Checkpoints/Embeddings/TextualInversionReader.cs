using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Embeddings;

/// <summary>
/// Reads textual-inversion embeddings from <c>.safetensors</c> files and PyTorch's <c>.pt</c>/<c>.bin</c> (read without
/// running their pickles): A1111's <c>emb_params</c> and <c>string_to_param.*</c> (its <c>.pt</c> layout), the per-encoder
/// <c>clip_l</c>/<c>clip_g</c> of SDXL-era files, and a file holding one tensor under any name (diffusers'
/// <c>learned_embeds.bin</c>, whose key is the token). The tensor whose width matches the text encoder is taken.
/// </summary>
public static class TextualInversionReader
{
    /// <summary>The file extension preferred when one name has several files.</summary>
    public const string Extension = ".safetensors";

    private const int MaxVectors = 75;

    /// <summary>The embedding files in <paramref name="folder"/> (and its subfolders) by name, ordinally sorted; empty when the folder does not exist.</summary>
    public static IReadOnlyList<(string Name, string Path)> List(string folder) => !Directory.Exists(folder)
        ? []
        : Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 4 })
            .Where(f => IsEmbeddingFile(f))
            .Select(f => (System.IO.Path.GetFileNameWithoutExtension(f), f))
            .GroupBy(e => e.Item1, StringComparer.Ordinal)
            .Select(g => g.OrderBy(e => e.f.EndsWith(Extension, StringComparison.OrdinalIgnoreCase) ? 0 : 1).First())
            .OrderBy(e => e.Item1, StringComparer.Ordinal)
            .ToArray();

    /// <summary>Whether <paramref name="path"/> has an embedding file's extension (.safetensors, .pt or .bin).</summary>
    public static bool IsEmbeddingFile(string path) =>
        path.EndsWith(Extension, StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pt", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Reads the embedding in <paramref name="path"/> for a text encoder of <paramref name="width"/>; with
    /// <paramref name="tensor"/> (SDXL's <c>clip_l</c> or <c>clip_g</c>) that tensor, whose name says which tower it is for.
    /// </summary>
    /// <exception cref="CheckpointException">No embedding tensor, none of that width, or too many vectors; the message names the file.</exception>
    /// <exception cref="SafetensorsException">The file cannot be read (damaged, or a legacy PyTorch pickle); the message names it.</exception>
    public static TextualInversion Read(string path, int width, string? tensor = null)
    {
        using var file = SafetensorsFile.Open(path);
        var candidates = file.Tensors.Values
            .Where(t => t.Name is "emb_params" or "clip_l" or "clip_g" || t.Name.StartsWith("string_to_param", StringComparison.Ordinal))
            .ToArray();
        if (candidates.Length == 0 && tensor is null && file.Tensors.Count == 1)
        {
            // diffusers' learned_embeds.bin: one tensor keyed by its token, as ComfyUI takes the first value.
            candidates = [.. file.Tensors.Values];
        }

        if (candidates.Length == 0)
        {
            throw new CheckpointException($"{path}: no textual-inversion tensor (emb_params, clip_l, clip_g, string_to_param.* or a lone tensor); the file holds "
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
