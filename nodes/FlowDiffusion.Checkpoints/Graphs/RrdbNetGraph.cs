using FlowDiffusion.Checkpoints.Upscale;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// ESRGAN's generator (RRDBNet) as ONNX, from the paper: residual dense blocks (five 3×3 convolutions over the
/// concatenation of the input and every earlier output, LeakyReLU 0.2 after the first four, x + 0.2·conv5), three per
/// RRDB (x + 0.2·their output), the trunk convolution added to <c>conv_first</c>'s output, then per factor 2 a nearest ×2
/// upsampling and a convolution with LeakyReLU, <c>conv_hr</c> with LeakyReLU and <c>conv_last</c>. A network that
/// unshuffles (Real-ESRGAN ×2, ×1) first reflect-pads the image's bottom and right to a multiple of the factor, as
/// Real-ESRGAN's inference does, and the result is cropped back to scale × the input, so any tile size works.
/// </summary>
public static class RrdbNetGraph
{
    private const float Slope = 0.2f;
    private const float ResidualScale = 0.2f;

    /// <summary>Builds the graph (weights embedded unless <paramref name="binding"/> says otherwise).</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, RrdbNetArchitecture arch, string source, WeightBinding? binding = null)
    {
        var g = new GraphBuilder("rrdbnet");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        var image = g.Input("image", TensorElementType.Float, "batch", arch.InChannels, "height", "width");
        var x = arch.Unshuffle > 1 ? PixelUnshuffle(g, PadToMultiple(g, image, arch.Unshuffle), arch.InChannels, arch.Unshuffle) : image;
        var scale = g.Scalar(ResidualScale);
        var feat = n.Conv(x, "conv_first");
        var h = feat;
        for (var b = 0; b < arch.Blocks; b++)
        {
            var y = h;
            for (var r = 1; r <= 3; r++)
            {
                y = DenseBlock(n, y, $"body.{b}.rdb{r}", scale);
            }

            h = g.Add(h, g.Mul(y, scale));
        }

        h = g.Add(feat, n.Conv(h, "conv_body"));
        for (var u = 1; u <= arch.Upsamplings; u++)
        {
            h = LeakyRelu(g, n.Conv(g.UpsampleNearest(h, 2f), $"conv_up{u}"));
        }

        var output = n.Conv(LeakyRelu(g, n.Conv(h, "conv_hr")), "conv_last");
        if (arch.Unshuffle > 1)
        {
            // Crop the padding's share of the result: [.., :s·h, :s·w].
            var size = g.Mul(g.Shape(image, 2, 4), g.Int64s(arch.Scale, arch.Scale));
            output = g.Node("Slice", [output, g.Int64s(0, 0), size, g.Int64s(2, 3)]);
        }

        g.Output(output, "upscaled", TensorElementType.Float, "batch", arch.OutChannels, "upscaled_height", "upscaled_width");
        return g.Build($"ESRGAN (RRDBNet) built from {Path.GetFileName(source)}: {arch.Blocks} RRDBs of {arch.Features} features (growth {arch.Growth}), {arch.Scale}x"
            + (arch.Unshuffle > 1 ? $" (pixel unshuffle {arch.Unshuffle})." : "."));
    }

    private static string DenseBlock(NetworkGraph n, string x, string name, string scale)
    {
        var g = n.G;
        var features = new List<string> { x };
        for (var k = 1; k <= 4; k++)
        {
            features.Add(LeakyRelu(g, n.Conv(g.Concat(1, [.. features]), $"{name}.conv{k}")));
        }

        return g.Add(x, g.Mul(n.Conv(g.Concat(1, [.. features]), $"{name}.conv5"), scale));
    }

    private static string LeakyRelu(GraphBuilder g, string x) => g.Node("LeakyRelu", [x], OnnxAttribute.Float("alpha", Slope));

    // Bottom and right padding to the next multiple of r: (r − size mod r) mod r, reflected.
    private static string PadToMultiple(GraphBuilder g, string x, int r)
    {
        var size = g.Shape(x, 2, 4);
        var multiple = g.Int64s(r, r);
        var extra = g.Node("Mod", [g.Sub(multiple, g.Node("Mod", [size, multiple])), multiple]);
        var pads = g.Concat(0, g.Int64s(0, 0, 0, 0, 0, 0), extra);
        return g.Node("Pad", [x, pads], OnnxAttribute.String("mode", "reflect"));
    }

    // torch's pixel_unshuffle: output channel c·r² + i·r + j holds input channel c at offset (i, j) of each r×r cell.
    // SpaceToDepth orders them (i·r + j)·C + c, so a constant gather puts them in torch's order.
    private static string PixelUnshuffle(GraphBuilder g, string x, int channels, int r)
    {
        var cells = g.Node("SpaceToDepth", [x], OnnxAttribute.Int("blocksize", r));
        var order = new long[channels * r * r];
        for (var c = 0; c < channels; c++)
        {
            for (var o = 0; o < r * r; o++)
            {
                order[(c * r * r) + o] = (o * channels) + c;
            }
        }

        return g.Gather(cells, g.Int64s(order), 1);
    }
}
