using System.Buffers.Binary;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Onnx;

/// <summary>
/// A float32 model as an fp16 export: float initializers, graph inputs and outputs become float16, so every operator
/// computes in float16 (ONNX Runtime inserts casts around operators its provider lacks in float16).
/// </summary>
/// <remarks>
/// Kept float32: Resize's scales (the operator requires float32) and Cast nodes, which turn integer ids into float32
/// for index arithmetic (CLIP's pooling compares token ids that float16 cannot hold exactly), with the initializers
/// that arithmetic reads beside them. Values beyond float16's
/// range (a -1e9 attention mask) are clamped to ±65504.
/// </remarks>
public static class Float16Model
{
    /// <summary>The converted model. External float32 data cannot be converted here: bind such weights as float16 before building.</summary>
    public static OnnxModel Convert(OnnxModel model)
    {
        var graph = model.Graph;
        var keepFloat = graph.Nodes.Where(n => n.OpType == "Resize").SelectMany(n => n.Inputs.Skip(1)).Where(i => i.Length > 0).ToHashSet(StringComparer.Ordinal);
        keepFloat.UnionWith(InitializersBesideCasts(graph));
        var initializers = graph.Initializers.Select(t => t.ElementType != TensorElementType.Float || keepFloat.Contains(t.Name) ? t : ToHalf(t)).ToArray();
        return model with
        {
            Graph = graph with
            {
                Initializers = initializers,
                Inputs = graph.Inputs.Select(ToHalf).ToArray(),
                Outputs = graph.Outputs.Select(ToHalf).ToArray(),
            },
        };
    }

    // The float32 values that Cast nodes make (integer ids) flow through type-preserving operators into comparisons and
    // selections; an initializer those operators also read must stay float32, or the operator would mix float32 and
    // float16 (CLIP's pooling: Where(Less(ids, vocabulary), ids, 0)).
    private static IEnumerable<string> InitializersBesideCasts(OnnxGraph graph)
    {
        var float32 = graph.Nodes
            .Where(n => n.OpType == "Cast" && n.Attributes.Contains(OnnxAttribute.Int("to", (long)TensorElementType.Float)))
            .SelectMany(n => n.Outputs)
            .ToHashSet(StringComparer.Ordinal);
        var initializers = graph.Initializers.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var kept = new HashSet<string>(StringComparer.Ordinal);
        // Nodes are in topological order, so one pass carries the float32 values forward.
        foreach (var node in graph.Nodes.Where(n => n.Inputs.Any(float32.Contains)))
        {
            kept.UnionWith(node.Inputs.Where(initializers.Contains));
            if (TypePreserving.Contains(node.OpType))
            {
                float32.UnionWith(node.Outputs);
            }
        }
        return kept;
    }

    // Operators whose float output has their float inputs' type.
    private static readonly HashSet<string> TypePreserving = new(StringComparer.Ordinal)
    {
        "Where", "Add", "Sub", "Mul", "Div", "Min", "Max", "Neg", "Abs", "Identity", "Reshape", "Unsqueeze", "Squeeze", "Expand",
    };

    private static OnnxValueInfo ToHalf(OnnxValueInfo value) =>
        value.ElementType == TensorElementType.Float ? value with { ElementType = TensorElementType.Float16 } : value;

    private static OnnxTensor ToHalf(OnnxTensor tensor)
    {
        if (tensor.External is not null)
        {
            throw new InvalidOperationException($"Initializer '{tensor.Name}' keeps float32 data in an external file; bind it as float16 when building.");
        }

        var count = tensor.RawData.Length / 4;
        var raw = new byte[count * 2];
        for (var i = 0; i < count; i++)
        {
            var value = Math.Clamp(BinaryPrimitives.ReadSingleLittleEndian(tensor.RawData.AsSpan(i * 4)), (float)Half.MinValue, (float)Half.MaxValue);
            BinaryPrimitives.WriteHalfLittleEndian(raw.AsSpan(i * 2), (Half)value);
        }

        return new OnnxTensor(tensor.Name, TensorElementType.Float16, tensor.Dims, raw);
    }
}
