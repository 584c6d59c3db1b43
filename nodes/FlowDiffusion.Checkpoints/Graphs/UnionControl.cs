using FlowDiffusion.Checkpoints.ControlNet;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// A union ControlNet's (ControlNet++) parts in <see cref="ControlNetGraph"/>, as ComfyUI's <c>cldm.py</c> runs them. The
/// graph takes <see cref="InputName"/> [types]: a one-hot of the control type, all zeros for "auto". The type's embedding
/// joins the time embedding (<see cref="AddEmbedding"/>), and with a type the embedded control image is shifted per
/// channel by what the transformer makes of its mean and the type (<see cref="Merge"/>); "auto" leaves it as it is.
/// </summary>
internal static class UnionControl
{
    /// <summary>The control-type input.</summary>
    public const string InputName = "control_type";

    /// <summary>
    /// <paramref name="emb"/> [batch, time width] plus <c>control_add_embedding</c>: each one-hot entry's timestep
    /// sinusoid (cos first, as the UNet's), flattened in type order, through linear_1, SiLU and linear_2.
    /// </summary>
    public static string AddEmbedding(NetworkGraph n, UnionControlArchitecture union, string emb, string controlType)
    {
        var g = n.G;
        var half = union.SinusoidWidth / 2;
        var args = g.Mul(g.Unsqueeze(controlType, 1), g.Weight("control_type_frequencies", UNetGraph.Frequencies(union.SinusoidWidth), 1, half));
        var features = g.Reshape(g.Concat(1, g.Cos(args), g.Sin(args)), 1, union.Types * union.SinusoidWidth);
        return g.Add(emb, n.Linear(g.Silu(n.Linear(features, "control_add_embedding.linear_1")), "control_add_embedding.linear_2"));
    }

    /// <summary>
    /// The embedded control image <paramref name="hint"/> [batch, width, h, w] plus, with a control type, the projection
    /// (<c>spatial_ch_projs</c>) of the transformer's output for the one-token sequence "spatial mean of the hint + the type's
    /// task embedding", at every pixel. One token attends only to itself (its softmax is 1), so each layer's attention
    /// is its value projection followed by <c>out_proj</c>; the MLP's activation is QuickGELU (x·σ(1.702x)).
    /// </summary>
    public static string Merge(NetworkGraph n, UnionControlArchitecture union, string hint, string controlType)
    {
        var g = n.G;
        var width = union.Width;
        var mean = g.Node("ReduceMean", [hint], OnnxAttribute.Ints("axes", [2, 3]), OnnxAttribute.Int("keepdims", 0));
        var x = g.Add(mean, g.MatMul(g.Unsqueeze(controlType, 0), n.W("task_embedding")));
        for (var i = 0; i < union.Layers; i++)
        {
            var p = $"transformer_layes.{i}.";
            var value = g.Slice(n.Linear(n.LayerNorm(x, p + "ln_1"), p + "attn.in_proj"), [2L * width], [3L * width], [1]);
            x = g.Add(x, n.Linear(value, p + "attn.out_proj"));
            var h = n.Linear(n.LayerNorm(x, p + "ln_2"), p + "mlp.c_fc");
            x = g.Add(x, n.Linear(g.Mul(h, g.Sigmoid(g.Mul(h, g.Scalar(1.702f)))), p + "mlp.c_proj"));
        }

        // 1 with a control type, 0 for "auto": then the hint is left as it is (hint + 0).
        var active = g.ReduceSum(controlType, [0], keepDims: true);
        return g.Add(hint, g.Unsqueeze(g.Mul(n.Linear(x, "spatial_ch_projs"), active), 2, 3));
    }
}
