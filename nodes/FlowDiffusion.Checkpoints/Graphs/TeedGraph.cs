using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// TEED (xavysp/TEED's <c>TED</c>) as ONNX, on the RGB 0..255 image as it is (no mean is taken off). Smish is
/// x · tanh(ln(1 + sigmoid x)). <c>block_1</c>: 3×3 at stride 2, Smish, 3×3, Smish; <c>block_2</c>: 3×3, Smish, 3×3;
/// a 3×3 max pool at stride 2 with padding 1; <c>side_1</c> (1×1, stride 2) of block 1 added to it; the dense layer on
/// (that sum, <c>pre_dense_3</c> of the pooled map): Smish, 3×3 padded 2, Smish, 3×3 unpadded, averaged with the second;
/// the upsampling blocks on blocks 1, 2 and the dense layer (per step a 1×1, Smish, a transposed convolution at stride 2);
/// the fusion on the three (Smish, depthwise 3×3 to 24, Smish, depthwise 3×3, the two summed over channels, Smish). The
/// output is the mean of the three upsampled maps and the fusion; the annotator's sigmoid, safe step and bytes follow on the host.
/// </summary>
public static class TeedGraph
{
    /// <summary>Builds the graph (weights embedded unless <paramref name="binding"/> says otherwise).</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, string source, WeightBinding? binding = null)
    {
        var g = new GraphBuilder("controlnet_teed");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        string Smish(string x) => g.Mul(x, g.Tanh(g.Node("Log", [g.Add(g.Scalar(1), g.Sigmoid(x))])));
        // A depthwise 3×3 convolution (one group per input channel).
        string Depthwise(string x, string name, long groups) => g.Node("Conv", [x, n.W(name + ".weight"), n.W(name + ".bias")],
            OnnxAttribute.Ints("kernel_shape", 3, 3), OnnxAttribute.Ints("pads", 1, 1, 1, 1), OnnxAttribute.Int("group", groups));

        var image = g.Input("image", TensorElementType.Float, 1, 3, "height", "width");
        var block1 = Smish(n.Conv(Smish(n.Conv(image, "block_1.conv1", stride: 2)), "block_1.conv2"));
        var block1Side = n.Conv(block1, "side_1.conv", stride: 2);
        var block2 = n.Conv(Smish(n.Conv(block1, "block_2.conv1")), "block_2.conv2");
        var block2Down = g.Node("MaxPool", [block2], OnnxAttribute.Ints("kernel_shape", 3, 3), OnnxAttribute.Ints("strides", 2, 2), OnnxAttribute.Ints("pads", 1, 1, 1, 1));
        var block2Add = g.Add(block2Down, block1Side);
        var preDense = n.Conv(block2Down, "pre_dense_3.conv");
        var dense = n.Conv(Smish(n.Conv(Smish(block2Add), "dblock_3.denselayer1.conv1", pads: [2, 2, 2, 2])), "dblock_3.denselayer1.conv2", pads: [0, 0, 0, 0]);
        var block3 = g.Mul(g.Add(dense, preDense), g.Scalar(0.5f));

        string Up(string x, int block)
        {
            var steps = TeedCheckpoint.UpBlocks[block - 1].Steps;
            var (kernel, pad) = TeedCheckpoint.UpKernel(steps);
            for (var i = 0; i < steps; i++)
            {
                var name = $"up_block_{block}.features.{3 * i + 2}";
                x = g.Node("ConvTranspose", [Smish(n.Conv(x, $"up_block_{block}.features.{3 * i}")), n.W(name + ".weight"), n.W(name + ".bias")],
                    OnnxAttribute.Ints("kernel_shape", kernel, kernel), OnnxAttribute.Ints("strides", 2, 2), OnnxAttribute.Ints("pads", pad, pad, pad, pad));
            }

            return x;
        }

        string[] outputs = [Up(block1, 1), Up(block2, 2), Up(block3, 3)];
        var attention = Depthwise(Smish(g.Concat(1, outputs)), "block_cat.DWconv1", outputs.Length);
        var attention2 = Depthwise(Smish(attention), "block_cat.DWconv2", TeedCheckpoint.FusionFeatures);
        var fused = Smish(g.ReduceSum(g.Add(attention2, attention), [1], keepDims: true));
        var sum = g.Add(g.Add(g.Add(outputs[0], outputs[1]), outputs[2]), fused);
        g.Output(g.Div(sum, g.Scalar(4)), "edges", TensorElementType.Float, 1, 1, "height", "width");
        return g.Build($"TEED annotator (TED) built from {Path.GetFileName(source)}: the mean of its three upsampled outputs and their fusion at the input's size, before the sigmoid.");
    }
}
