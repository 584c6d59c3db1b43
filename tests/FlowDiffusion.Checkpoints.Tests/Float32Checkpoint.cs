using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>Rewrites a checkpoint as an F32 safetensors file (optionally replacing tensors), for the fp32 and shape-variant cases.</summary>
internal static class Float32Checkpoint
{
    /// <param name="source">The checkpoint to rewrite.</param>
    /// <param name="target">The F32 file to write.</param>
    /// <param name="replace">Tensors to write in place of the source's, by name; names the source lacks are added.</param>
    public static void Write(string source, string target, IReadOnlyDictionary<string, (float[] Values, long[] Shape)>? replace = null)
    {
        using var file = SafetensorsFile.Open(source);
        var tensors = file.Tensors.Values.Where(t => SafetensorsDTypes.ConvertsToFloat32(t.DType))
            .Select(t => replace is not null && replace.TryGetValue(t.Name, out var r) ? (t.Name, r.Values, r.Shape) : (t.Name, file.ReadFloat32(t.Name), t.Shape))
            .Concat((replace ?? new Dictionary<string, (float[] Values, long[] Shape)>()).Where(r => !file.Tensors.ContainsKey(r.Key)).Select(r => (Name: r.Key, r.Value.Values, r.Value.Shape)))
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .ToArray();
        var header = new Dictionary<string, object>();
        long offset = 0;
        foreach (var (name, values, shape) in tensors)
        {
            header[name] = new { dtype = "F32", shape, data_offsets = new[] { offset, offset + values.Length * 4L } };
            offset += values.Length * 4L;
        }

        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        using var stream = File.Create(target);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)json.Length);
        stream.Write(length);
        stream.Write(json);
        foreach (var (_, values, _) in tensors)
        {
            foreach (var v in values)
            {
                BinaryPrimitives.WriteSingleLittleEndian(length, v);
                stream.Write(length[..4]);
            }
        }
    }
}
