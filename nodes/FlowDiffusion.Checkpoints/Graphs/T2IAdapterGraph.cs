using FlowDiffusion.Checkpoints.T2IAdapter;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// A full T2I-Adapter as ONNX: the control image pixel-unshuffled by r (PyTorch's channel order: c·r² + i·r + j), a 3×3
/// <c>conv_in</c>, then per level its residual blocks (x + block2(ReLU(block1(x))), the level's first block opening with a
/// ceil-mode 2×2 average pool where the level downsamples and a 1×1 <c>in_conv</c> where the width changes); each level's
/// output is <c>feature_i</c>, which the UNet adds inside its encoder (<see cref="AdapterFeatures"/>).
/// </summary>
public static class T2IAdapterGraph
{
    /// <summary>The name of level <paramref name="level"/>'s output.</summary>
    public static string Feature(int level) => $"feature_{level}";

    /// <summary>Builds the graph (weights embedded unless <paramref name="binding"/> says otherwise).</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> tensors, T2IAdapterArchitecture arch, string source, WeightBinding? binding = null)
    {
        var g = new GraphBuilder("t2i_adapter");
        var n = new NetworkGraph(g, tensors, source, binding ?? WeightBinding.Embedded);
        var image = g.Input("image", TensorElementType.Float, "batch", arch.InputChannels, "height", "width");
        var x = n.Conv(PixelUnshuffle(g, image, arch.InputChannels, arch.Unshuffle), "conv_in");
        for (var level = 0; level < arch.Channels.Count; level++)
        {
            for (var j = 0; j < arch.ResBlocksPerLevel; j++)
            {
                var block = $"body.{(level * arch.ResBlocksPerLevel) + j}";
                if (j == 0 && arch.Downsamples[level])
                {
                    x = g.Node("AveragePool", [x], OnnxAttribute.Ints("kernel_shape", 2, 2), OnnxAttribute.Ints("strides", 2, 2), OnnxAttribute.Int("ceil_mode", 1));
                }

                if (n.Has(block + ".in_conv.weight"))
                {
                    x = n.Conv(x, block + ".in_conv");
                }

                x = g.Add(x, n.Conv(g.Node("Relu", [n.Conv(x, block + ".block1")]), block + ".block2"));
            }

            g.Output(x, Feature(level), TensorElementType.Float, "batch", arch.Channels[level], $"feature_{level}_height", $"feature_{level}_width");
        }

        return g.Build($"{(arch.IsSdxl ? "SDXL" : "SD 1.x")} T2I-Adapter built from {Path.GetFileName(source)}: widths {string.Join("/", arch.Channels)}, {arch.InputChannels}-channel control image unshuffled by {arch.Unshuffle}.");
    }

    // ONNX's SpaceToDepth orders the channels (i·r + j)·C + c; PyTorch's PixelUnshuffle c·r² + i·r + j. A gather reorders them.
    private static string PixelUnshuffle(GraphBuilder g, string x, int channels, int r)
    {
        var blocks = g.Node("SpaceToDepth", [x], OnnxAttribute.Int("blocksize", r));
        if (channels == 1)
        {
            return blocks;
        }

        var order = new long[channels * r * r];
        for (var c = 0; c < channels; c++)
        {
            for (var k = 0; k < r * r; k++)
            {
                order[(c * r * r) + k] = (k * channels) + c;
            }
        }

        return g.Gather(blocks, g.Initializer(OnnxTensor.FromInt64s("pixel_unshuffle_order", order, order.Length)), 1);
    }
}
