namespace FlowDiffusion.Nodes.StableDiffusion.Adapter;

/// <summary>
/// How several images' embeddings make one image prompt, as ComfyUI's IPAdapter_plus pack combines them before its
/// projection: "concat" keeps every image's tokens one after another; "add", "subtract" (the first minus the mean of the
/// rest), "average" and "norm average" (the mean of each value over its norm across the images) make one image of them.
/// </summary>
internal static class IpEmbedsCombination
{
    /// <summary>The modes, by the pack's names.</summary>
    public static readonly string[] Names = ["concat", "add", "subtract", "average", "norm average"];

    /// <summary><paramref name="batch"/> embeddings of <c>values.Length / batch</c> each, combined (one image unless concat).</summary>
    public static (float[] Values, int Batch) Combine(string mode, float[] values, int batch)
    {
        if (!Names.Contains(mode))
        {
            throw new ArgumentException($"combine_embeds: '{mode}' is not one of {string.Join(", ", Names)}");
        }

        // As the pack, one image is left as it is whatever the mode.
        if (mode == "concat" || batch < 2)
        {
            return (values, batch);
        }

        var item = values.Length / batch;
        var result = new float[item];
        for (var i = 0; i < item; i++)
        {
            double sum = 0, squares = 0, rest = 0;
            for (var b = 0; b < batch; b++)
            {
                var v = values[(b * item) + i];
                sum += v;
                squares += v * (double)v;
                if (b > 0) rest += v;
            }

            result[i] = (float)(mode switch
            {
                "add" => sum,
                "subtract" => values[i] - (rest / (batch - 1)),
                "average" => sum / batch,
                _ => Enumerable.Range(0, batch).Sum(b => values[(b * item) + i] / Math.Sqrt(squares)) / batch,
            });
        }

        return (result, 1);
    }
}
