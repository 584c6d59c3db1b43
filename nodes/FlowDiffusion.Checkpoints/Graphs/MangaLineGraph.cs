using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// MangaLineExtraction's <c>res_skip</c> as ONNX, on the grey 0..255 image as it is (the input's first channel). Each unit:
/// BatchNorm (eps 10⁻³, inference), LeakyReLU 0.2, a zero-padded 3×3 convolution (at stride 2 in the encoder's last units;
/// ×2 nearest upsampling after it in the decoder's first), the same again at stride 1, plus the input, through a 1×1
/// convolution (upsampled alike) where the channels or the stride change. The decoder's blocks 5…8 each add the encoder
/// map of their size (blocks 3, 2, 1, 0); block 9 and <c>conv15</c> (BatchNorm, LeakyReLU, 1×1 to one channel) end it. The
/// output is the line drawing on 0..255, unclipped; the annotators' clipping and inversion follow on the host.
/// </summary>
public static class MangaLineGraph
{
    /// <summary>BatchNorm's epsilon in the published network.</summary>
    public const float Epsilon = 1e-3f;

    /// <summary>LeakyReLU's slope in the published network.</summary>
    public const float Slope = 0.2f;

    /// <summary>Builds the graph (weights embedded unless <paramref name="binding"/> says otherwise).</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, string source, WeightBinding? binding = null)
    {
        var g = new GraphBuilder("controlnet_manga_line");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        string BnReluConv(string x, string name, long stride = 1, bool upsample = false)
        {
            var activated = g.Node("LeakyRelu", [n.BatchNorm(x, $"{name}.model.0", Epsilon)], OnnxAttribute.Float("alpha", Slope));
            var y = n.Conv(activated, $"{name}.model.2", stride);
            return upsample ? g.UpsampleNearest(y, 2f) : y;
        }

        string Block(string x, int block)
        {
            for (var u = 0; u < MangaLineCheckpoint.Blocks[block].Units; u++)
            {
                var prefix = $"block{block}.model.{u}";
                var (_, stride, upsample, shortcut) = MangaLineCheckpoint.Unit(block, u);
                var y = BnReluConv(BnReluConv(x, $"{prefix}.conv1", stride, upsample), $"{prefix}.residual");
                var skip = x;
                if (shortcut)
                {
                    skip = n.Conv(x, $"{prefix}.shortcut.model.0", stride);
                    if (upsample) skip = g.UpsampleNearest(skip, 2f);
                }

                x = g.Add(skip, y);
            }

            return x;
        }

        var image = g.Input("image", TensorElementType.Float, 1, 3, "height", "width");
        var x = g.Slice(image, [0], [1], [1]);
        var encoder = new string[MangaLineCheckpoint.Halvings + 1];
        for (var b = 0; b <= MangaLineCheckpoint.Halvings; b++) encoder[b] = x = Block(x, b);
        for (var b = MangaLineCheckpoint.Halvings + 1; b < 2 * MangaLineCheckpoint.Halvings + 1; b++)
            x = g.Add(encoder[2 * MangaLineCheckpoint.Halvings - b], Block(x, b));
        var line = BnReluConv(Block(x, MangaLineCheckpoint.Blocks.Length - 1), "conv15");
        g.Output(line, "line", TensorElementType.Float, 1, 1, "height", "width");
        return g.Build($"Manga line annotator (MangaLineExtraction's res_skip) built from {Path.GetFileName(source)}: the line drawing on 0..255, unclipped, at the input's size (multiples of 16).");
    }
}
