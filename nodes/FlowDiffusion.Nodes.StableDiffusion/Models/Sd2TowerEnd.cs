using System.Globalization;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// The last layer of a saved SD 2.x text tower. SD 2.x conditions on the OpenCLIP tower's penultimate layer, so the converted
/// tower has no last layer (<see cref="Sd2Keys"/>), yet every SD 2.x reader drops one: our importer drops the file's last
/// layer, ComfyUI runs a 24-layer tower to its penultimate one. The saved file therefore ends with an identity layer —
/// layer norms of scale 1 and bias 0, every projection and bias 0, so the residual block returns its input — which both
/// readers skip, and the context they compute is the saved model's. A reader that ran the tower to its very end (ComfyUI's
/// CLIPSetLastLayer −1 on this file) gets the same context, not the original last layer, which the model no longer holds.
/// </summary>
internal static class Sd2TowerEnd
{
    private const string Blocks = Sd2Keys.TextEncoderPrefix + "transformer.resblocks.";

    /// <summary>Adds the identity layer after the tower's layers in <paramref name="layout"/>; the returned reader also reads its tensors.</summary>
    public static Func<string, byte[]> Append(List<(string Name, SafetensorsDType DType, long[] Shape)> layout, Func<string, byte[]> read)
    {
        var layers = layout.Select(t => IndexOf(t.Name)).Where(i => i >= 0).DefaultIfEmpty(-1).Max() + 1;
        var first = Blocks + "0.";
        var added = new Dictionary<string, (SafetensorsDType DType, long[] Shape, bool Ones)>(StringComparer.Ordinal);
        foreach (var (name, dtype, shape) in layout.Where(t => t.Name.StartsWith(first, StringComparison.Ordinal)).ToList())
        {
            var module = name[first.Length..];
            var key = Blocks + layers.ToString(CultureInfo.InvariantCulture) + "." + module;
            added[key] = (dtype, shape, module is "ln_1.weight" or "ln_2.weight");
            layout.Add((key, dtype, shape));
        }

        return key => added.TryGetValue(key, out var t) ? Constant(t.DType, t.Shape, t.Ones) : read(key);
    }

    private static int IndexOf(string name)
    {
        if (!name.StartsWith(Blocks, StringComparison.Ordinal)) return -1;
        var rest = name.AsSpan(Blocks.Length);
        var dot = rest.IndexOf('.');
        return dot > 0 && int.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index : -1;
    }

    private static byte[] Constant(SafetensorsDType dtype, long[] shape, bool ones)
    {
        var count = checked((int)shape.Aggregate(1L, (a, b) => a * b));
        if (!ones) return new byte[count * (dtype == SafetensorsDType.Float32 ? 4 : 2)];
        return dtype switch
        {
            SafetensorsDType.Float32 => [.. Enumerable.Repeat(BitConverter.GetBytes(1f), count).SelectMany(b => b)],
            SafetensorsDType.Float16 => [.. Enumerable.Repeat(BitConverter.GetBytes((Half)1), count).SelectMany(b => b)],
            _ => throw new InvalidOperationException($"{dtype}: the SD 2.x tower's last layer is written in float32 or float16 only"),
        };
    }
}
