using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace FlowDiffusion.Formats.Safetensors;

/// <summary>
/// Writes float32 tensors as a safetensors file: the 8-byte little-endian header length, the JSON header
/// (<c>{name: {dtype, shape, data_offsets}}</c>, padded with spaces to 8 bytes), then the data. The file is written
/// beside the target and renamed into place.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Writes <paramref name="tensors"/> (name, shape, row-major values) to <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">A tensor's values do not fill its shape, or a name repeats.</exception>
    public static void WriteFloat32(string path, IEnumerable<(string Name, long[] Shape, float[] Values)> tensors)
    {
        var list = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        if (list.Select(t => t.Name).Distinct(StringComparer.Ordinal).Count() != list.Count)
        {
            throw new ArgumentException("Tensor names must be unique.", nameof(tensors));
        }

        using var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            long offset = 0;
            foreach (var (name, shape, values) in list)
            {
                if (shape.Aggregate(1L, (a, b) => a * b) != values.Length)
                {
                    throw new ArgumentException($"Tensor '{name}' has {values.Length} values; shape [{string.Join(",", shape)}] needs {shape.Aggregate(1L, (a, b) => a * b)}.", nameof(tensors));
                }

                json.WriteStartObject(name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (var dim in shape)
                {
                    json.WriteNumberValue(dim);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset += values.LongLength * 4);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        var padding = (int)((8 - header.Length % 8) % 8);
        header.Write(Encoding.ASCII.GetBytes(new string(' ', padding)));
        var staging = path + ".partial-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            using (var file = File.Create(staging))
            {
                Span<byte> length = stackalloc byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(length, header.Length);
                file.Write(length);
                header.Position = 0;
                header.CopyTo(file);
                var buffer = new byte[4];
                foreach (var (_, _, values) in list)
                {
                    foreach (var v in values)
                    {
                        BinaryPrimitives.WriteSingleLittleEndian(buffer, v);
                        file.Write(buffer);
                    }
                }
            }

            File.Move(staging, path, overwrite: true);
        }
        catch
        {
            File.Delete(staging);
            throw;
        }
    }
}
