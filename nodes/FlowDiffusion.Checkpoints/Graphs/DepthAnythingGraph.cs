using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// Depth Anything (V1's DPT_DINOv2, V2's DepthAnythingV2) as ONNX: <c>image</c> [1, 3, h, w] (ImageNet-normalised RGB,
/// sides multiples of 14) → <c>depth</c> [1, 1, h, w], the relative inverse depth after the head's final ReLU.
/// The DINOv2 encoder: 14 × 14 patches, the class token, position embeddings used as stored on the trained square grid
/// and otherwise resized bicubically by DINOv2's scale factors ((grid + 0.1) / s, torch's a = −0.75, half-pixel, edges
/// clamped); pre-norm blocks with layer scale (attention, GELU MLP or vitg's SwiGLU; LayerNorm ε 1e-6); the four blocks the
/// version reads, each through the final norm, class token dropped, as a map. The DPT head: 1 × 1 projections; a 4×
/// and a 2× transposed convolution, identity, a stride-2 convolution; the bias-free 3 × 3 <c>layerN_rn</c>; the four
/// fusion blocks (residual units ReLU → conv → ReLU → conv + input, bilinear align-corners to the next map's size, ×2 for
/// the last, then a 1 × 1 convolution); <c>output_conv1</c>, bilinear align-corners to 14 × the grid, <c>output_conv2</c>
/// (conv, ReLU, 1 × 1 conv, ReLU). V1's last resize to the input size is the identity there and its ReLU a no-op.
/// </summary>
public static class DepthAnythingGraph
{
    private const float NormEpsilon = 1e-6f;
    private const float PositionOffset = 0.1f;

    /// <summary>Builds the graph (weights embedded unless <paramref name="binding"/> says otherwise).</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, DepthAnythingEncoder size, int grid, DepthAnythingVersion version, string source, WeightBinding? binding = null)
    {
        var g = new GraphBuilder("depth_anything");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        var image = g.Input("image", TensorElementType.Float, 1, 3, "height", "width");
        var patches = g.Node("Conv", [image, n.W("pretrained.patch_embed.proj.weight"), n.W("pretrained.patch_embed.proj.bias")],
            OnnxAttribute.Ints("kernel_shape", DepthAnythingEncoder.Patch, DepthAnythingEncoder.Patch),
            OnnxAttribute.Ints("strides", DepthAnythingEncoder.Patch, DepthAnythingEncoder.Patch));
        var h = g.Concat(1, n.W("pretrained.cls_token"), n.ToSequence(patches, size.Width));
        h = g.Add(h, Positions(n, patches, size.Width, grid));
        var taken = size.TakenLayers(version);
        var maps = new List<string>();
        for (var i = 0; i < size.Layers; i++)
        {
            h = Block(n, h, $"pretrained.blocks.{i}.", size);
            if (taken.Contains(i))
            {
                var normed = n.LayerNorm(h, "pretrained.norm", NormEpsilon);
                maps.Add(n.ToMap(g.Slice(normed, [1], [long.MaxValue], [1]), patches));
            }
        }

        var depth = DptHead(n, maps, patches);
        g.Output(depth, "depth", TensorElementType.Float, 1, 1, "height", "width");
        return g.Build($"Depth Anything {(version == DepthAnythingVersion.V1 ? "V1" : "V2")} {size.Name} built from {Path.GetFileName(source)}: blocks {string.Join(", ", taken)} through the DPT head, the relative depth at the input's size.");
    }

    // pos_embed as stored when the patch grid is the trained square, else its patch part resized bicubically by DINOv2's
    // scale factors ((rows + 0.1) / s, (columns + 0.1) / s), so the sampling positions are torch's, not a plain size ratio's.
    private static string Positions(NetworkGraph n, string patches, long width, int grid)
    {
        var g = n.G;
        var stored = n.W("pretrained.pos_embed");
        var classPosition = g.Slice(stored, [0], [1], [1]);
        var patchPositions = g.Slice(stored, [1], [1 + (long)grid * grid], [1]);
        var map = g.Transpose(g.Reshape(patchPositions, 1, grid, grid, width), 0, 3, 1, 2);
        var patchGrid = g.Shape(patches, 2, 4);
        var same = g.Cast(g.Node("ReduceMin", [g.Cast(g.Node("Equal", [patchGrid, g.Int64s(grid, grid)]), TensorElementType.Int64)], OnnxAttribute.Int("keepdims", 0)), TensorElementType.Bool);
        var factors = g.Div(g.Add(g.Cast(patchGrid, TensorElementType.Float), g.Scalar(PositionOffset)), g.Scalar(grid));
        var scales = g.Concat(0, g.Weight("depth_anything_unit_scales", [1f, 1f], 2), factors);
        var resized = g.If(same, b => patchPositions, b => b.Reshape(b.Transpose(
            b.Node("Resize", [map, string.Empty, scales],
                OnnxAttribute.String("mode", "cubic"), OnnxAttribute.Float("cubic_coeff_a", -0.75f),
                OnnxAttribute.String("coordinate_transformation_mode", "half_pixel")),
            0, 2, 3, 1), 1, -1, width));
        return g.Concat(1, classPosition, resized);
    }

    // DINOv2's Block: x + ls1 · attn(norm1(x)), then x + ls2 · ffn(norm2(x)).
    private static string Block(NetworkGraph n, string x, string prefix, DepthAnythingEncoder size)
    {
        var g = n.G;
        var attention = VitLayers.Attention(n, n.LayerNorm(x, prefix + "norm1", NormEpsilon), prefix, size.Width, size.Heads);
        x = g.Add(x, g.Mul(attention, n.W(prefix + "ls1.gamma")));
        var normed = n.LayerNorm(x, prefix + "norm2", NormEpsilon);
        string ffn;
        if (size.SwiGlu)
        {
            var x12 = n.Linear(normed, prefix + "mlp.w12");
            long hidden = size.Hidden;
            ffn = n.Linear(g.Mul(g.Silu(g.Slice(x12, [0], [hidden], [2])), g.Slice(x12, [hidden], [2 * hidden], [2])), prefix + "mlp.w3");
        }
        else
        {
            ffn = VitLayers.Mlp(n, normed, prefix);
        }

        return g.Add(x, g.Mul(ffn, n.W(prefix + "ls2.gamma")));
    }

    private static string DptHead(NetworkGraph n, List<string> maps, string patches)
    {
        var g = n.G;
        const string head = "depth_head.";
        var reassembled = new string[4];
        for (var k = 0; k < 4; k++)
        {
            var x = n.Conv(maps[k], $"{head}projects.{k}");
            reassembled[k] = k switch
            {
                0 => Transposed(n, x, $"{head}resize_layers.0", 4),
                1 => Transposed(n, x, $"{head}resize_layers.1", 2),
                2 => x,
                _ => n.Conv(x, $"{head}resize_layers.3", stride: 2),
            };
        }

        var path = DptFusion.Fuse(n, $"{head}scratch.", reassembled);
        var output = n.Conv(path, $"{head}scratch.output_conv1");
        output = DptFusion.AlignedResize(g, output, g.Mul(g.Shape(patches, 2, 4), g.Int64s(DepthAnythingEncoder.Patch, DepthAnythingEncoder.Patch)));
        output = g.Node("Relu", [n.Conv(output, $"{head}scratch.output_conv2.0")]);
        return g.Node("Relu", [n.Conv(output, $"{head}scratch.output_conv2.2")]);
    }

    private static string Transposed(NetworkGraph n, string x, string name, long factor) => n.G.Node(
        "ConvTranspose", [x, n.W(name + ".weight"), n.W(name + ".bias")],
        OnnxAttribute.Ints("kernel_shape", factor, factor), OnnxAttribute.Ints("strides", factor, factor));
}
