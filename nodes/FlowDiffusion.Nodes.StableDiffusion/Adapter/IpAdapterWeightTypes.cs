namespace FlowDiffusion.Nodes.StableDiffusion.Adapter;

/// <summary>
/// The weight types of ComfyUI's IPAdapter_plus pack as a weight per cross-attention layer. The pack scales by the
/// UNet's transformer index t (ComfyUI counts spatial transformers in running order: input blocks, middle, output) and
/// the block it lies in; our layers are in the adapter's order (down, up, then middle; one per transformer block), so
/// each layer is first placed at its transformer. The "ease" types divide t by 11 for an adapter with SDXL's 70 layers
/// and by 16 for any other (the pack tells them apart by its key 101); the tables of "style transfer", "composition"
/// and the like are SDXL's for 70 layers and SD 1.5's otherwise, and a layer they leave out gets 0.
/// </summary>
internal static class IpAdapterWeightTypes
{
    /// <summary>The types supported, by the pack's names.</summary>
    public static readonly string[] Names =
    [
        "linear", "ease in", "ease out", "ease in-out", "reverse in-out", "weak input", "weak output", "weak middle", "strong middle",
        "style transfer", "composition", "strong style transfer", "style and composition",
    ];

    private const int SdxlLayers = 70;

    /// <summary>The weight of each layer for <paramref name="type"/> at <paramref name="weight"/>, the layers' widths given.</summary>
    public static float[] LayerWeights(string type, float weight, IReadOnlyList<int> channels)
    {
        var places = Places(channels);
        var sdxl = channels.Count == SdxlLayers;
        double count = channels.Count > 50 ? 11 : 16;
        double w = weight;
        var table = Table(type, w, sdxl);
        var weights = new float[channels.Count];
        for (var layer = 0; layer < weights.Length; layer++)
        {
            var (t, block) = places[layer];
            weights[layer] = (float)(type switch
            {
                "linear" => w,
                "ease in" => w * (0.05 + (0.95 * (1 - (t / count)))),
                "ease out" => w * (0.05 + (0.95 * (t / count))),
                "ease in-out" => w * (0.05 + (0.95 * (1 - (Math.Abs(t - (count / 2)) / (count / 2))))),
                "reverse in-out" => w * (0.05 + (0.95 * (Math.Abs(t - (count / 2)) / (count / 2)))),
                "weak input" => block == Block.Input ? w * 0.2 : w,
                "weak output" => block == Block.Output ? w * 0.2 : w,
                "weak middle" => block == Block.Middle ? w * 0.2 : w,
                "strong middle" => block is Block.Input or Block.Output ? w * 0.2 : w,
                _ when table is not null => table.GetValueOrDefault(t),
                _ => throw new ArgumentException($"weight_type: '{type}' is not one of {string.Join(", ", Names)}"),
            });
        }

        return weights;
    }

    // The pack's tables by transformer index ("style and composition" with its composition weight at 1, as IPAdapterAdvanced passes it).
    private static Dictionary<int, double>? Table(string type, double w, bool sdxl) => type switch
    {
        "style transfer" => sdxl ? Same(w, 6) : Same(w, 0, 1, 2, 3, 9, 10, 11, 12, 13, 14, 15),
        "composition" => sdxl ? Same(w, 3) : new() { [4] = w * 0.25, [5] = w },
        "strong style transfer" => sdxl ? Same(w, 0, 1, 2, 4, 5, 6, 7, 8, 9, 10) : Same(w, 0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        "style and composition" => sdxl
            ? new() { [3] = 1.0, [6] = w }
            : new(Same(w, 0, 1, 2, 3, 9, 10, 11, 12, 13, 14, 15)) { [4] = 0.25, [5] = 1.0 },
        _ => null,
    };

    private static Dictionary<int, double> Same(double w, params int[] transformers) => transformers.ToDictionary(t => t, _ => w);

    /// <summary>
    /// Each layer's transformer index and block. SDXL's 70 layers are its known layout (transformer depths 2, 2, 10, 10 down,
    /// 10 × 3 and 2 × 3 up, 10 in the middle); any other adapter has one layer per transformer (SD 1.x's depth 1): the last
    /// layer is the middle, and of the rest, the up side has one more per attention level (a width) than the down side.
    /// </summary>
    private static (int Transformer, Block Block)[] Places(IReadOnlyList<int> channels)
    {
        if (channels.Count == SdxlLayers)
        {
            int[] down = [2, 2, 10, 10], up = [10, 10, 10, 2, 2, 2];
            var places = new List<(int, Block)>();
            places.AddRange(down.SelectMany((depth, i) => Enumerable.Repeat((i, Block.Input), depth)));
            places.AddRange(up.SelectMany((depth, i) => Enumerable.Repeat((down.Length + 1 + i, Block.Output), depth)));
            places.AddRange(Enumerable.Repeat((down.Length, Block.Middle), 10));
            return [.. places];
        }

        var levels = channels.Take(channels.Count - 1).Distinct().Count();
        var downCount = (channels.Count - 1 - levels) / 2;
        if (channels.Count < 2 || (2 * downCount) + levels + 1 != channels.Count)
        {
            throw new ArgumentException($"the IP-Adapter's {channels.Count} layers are not a UNet layout the weight types know (SD 1.x's one per transformer, or SDXL's 70); use weight_type linear");
        }

        return
        [
            .. Enumerable.Range(0, downCount).Select(i => (i, Block.Input)),
            .. Enumerable.Range(0, channels.Count - 1 - downCount).Select(i => (downCount + 1 + i, Block.Output)),
            (downCount, Block.Middle),
        ];
    }

    private enum Block
    {
        Input,
        Middle,
        Output,
    }
}
