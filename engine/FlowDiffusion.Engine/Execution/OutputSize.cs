using System.Collections;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Engine.Execution;

/// <summary>
/// The memory a node output holds, for the byte bound of the <see cref="OutputCache"/>: tensors by their element
/// count, arrays and lists by their items. Handles to shared resources (model sessions) count as small: the caches that
/// own them bound them.
/// </summary>
internal static class OutputSize
{
    private const long Small = 256;

    public static long Of(object? value, int depth = 0) => value switch
    {
        null => 0,
        Image image => 4L * image.Batch * 3 * image.Height * image.Width,
        Mask mask => 4L * mask.Batch * mask.Height * mask.Width,
        Latent latent => 4L * latent.Values.Length,
        Conditioning conditioning => 4L * conditioning.Embeddings.Length,
        string text => 2L * text.Length,
        float[] floats => 4L * floats.Length,
        byte[] bytes => bytes.Length,
        Array { Rank: 1 } array when array.GetType().GetElementType()!.IsPrimitive => (long)array.Length * 8,
        IEnumerable items when depth < 2 => Small + items.Cast<object?>().Take(100_000).Sum(item => Of(item, depth + 1)),
        _ => Small,
    };
}
