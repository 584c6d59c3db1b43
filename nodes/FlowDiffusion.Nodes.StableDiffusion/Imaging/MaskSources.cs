using System.Runtime.CompilerServices;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// The file each mask was read from, so a node downstream that finds the mask of the wrong size can name it.
/// Masks are immutable values passed by reference, so the entry follows the mask; one made by another node has none.
/// </summary>
internal static class MaskSources
{
    private static readonly ConditionalWeakTable<Mask, string> Files = new();

    public static Mask Remember(Mask mask, string path)
    {
        Files.AddOrUpdate(mask, path);
        return mask;
    }

    /// <summary>"the mask 'path'" when the mask was read from a file, else "the mask".</summary>
    public static string Describe(Mask mask) => Files.TryGetValue(mask, out var path) ? $"the mask '{path}'" : "the mask";
}
