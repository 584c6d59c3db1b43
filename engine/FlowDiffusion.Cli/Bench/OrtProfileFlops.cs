using System.Text.Json;

namespace FlowDiffusion.Cli.Bench;

/// <summary>
/// The multiply-add work of a model, counted from an ONNX Runtime profile: every kernel ONNX Runtime ran, with the
/// shapes it ran on. Convolutions count 2 × output elements × (weight elements / output channels); matrix products
/// (MatMul, Gemm and their fused forms) 2 × output elements × the inner dimension K, read as the first operand's last
/// two axes over the output's rows (M·K / M), so a transposed first operand (Gemm's or FusedMatMul's transA) counts
/// right although the profile does not name the attribute.
/// Element-wise work, normalisations and softmax are left out: they are a few per cent of a UNet's.
/// </summary>
internal static class OrtProfileFlops
{
    /// <summary>The floating-point operations per <c>Run</c> in the profile at <paramref name="path"/>, and the number of runs.</summary>
    public static (double FlopsPerRun, int Runs) Read(string path)
    {
        using var stream = File.OpenRead(path);
        using var document = JsonDocument.Parse(stream);
        double flops = 0;
        var runs = 0;
        foreach (var e in document.RootElement.EnumerateArray())
        {
            var name = e.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "";
            var category = e.TryGetProperty("cat", out var c) ? c.GetString() ?? "" : "";
            if (category == "Session" && name == "model_run") runs++;
            if (category != "Node" || !name.EndsWith("_kernel_time", StringComparison.Ordinal) || !e.TryGetProperty("args", out var args)) continue;
            var op = args.TryGetProperty("op_name", out var o) ? o.GetString() ?? "" : "";
            var inputs = Shapes(args, "input_type_shape");
            var outputs = Shapes(args, "output_type_shape");
            if (inputs.Count == 0 || outputs.Count == 0) continue;
            flops += Operation(op, inputs, outputs[0]);
        }

        return (runs == 0 ? 0 : flops / runs, runs);
    }

    /// <summary>The floating-point operations of one kernel from its operator name and shapes.</summary>
    internal static double Operation(string op, IReadOnlyList<long[]> inputs, long[] output)
    {
        var outputElements = Elements(output);
        if (op.Contains("Conv", StringComparison.Ordinal) && !op.Contains("Transpose", StringComparison.Ordinal) && inputs.Count > 1 && inputs[1].Length >= 3 && inputs[1][0] > 0)
        {
            return 2.0 * outputElements * (Elements(inputs[1]) / inputs[1][0]);
        }

        if ((op.Contains("MatMul", StringComparison.Ordinal) || op.Contains("Gemm", StringComparison.Ordinal)) && inputs[0].Length >= 2 && output.Length >= 2 && output[^2] > 0)
        {
            var inner = (double)inputs[0][^1] * inputs[0][^2] / output[^2];
            return 2.0 * outputElements * inner;
        }

        return 0;
    }

    // [{"float": [2, 4, 32, 32]}, …] → the shapes.
    private static List<long[]> Shapes(JsonElement args, string property)
    {
        var shapes = new List<long[]>();
        if (!args.TryGetProperty(property, out var list) || list.ValueKind != JsonValueKind.Array) return shapes;
        foreach (var item in list.EnumerateArray())
        {
            foreach (var typed in item.EnumerateObject())
            {
                shapes.Add([.. typed.Value.EnumerateArray().Select(d => d.GetInt64())]);
            }
        }

        return shapes;
    }

    private static double Elements(long[] shape) => shape.Aggregate(1.0, (a, d) => a * d);
}
