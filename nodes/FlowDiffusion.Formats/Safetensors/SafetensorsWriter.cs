using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace FlowDiffusion.Formats.Safetensors;

/// <summary>
/// Writes tensors as a safetensors file: the 8-byte little-endian header length, the JSON header (<c>__metadata__</c>
/// first when there is any, then <c>{name: {dtype, shape, data_offsets}}</c> by name, padded with spaces to 8 bytes),
/// then the data. The file is written beside the target and renamed into place.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Writes float32 <paramref name="tensors"/> (name, shape, row-major values) to <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">A tensor's values do not fill its shape, or a name repeats.</exception>
    public static void WriteFloat32(string path, IEnumerable<(string Name, long[] Shape, float[] Values)> tensors) =>
        Write(path, tensors.Select(t => (t.Name, SafetensorsDType.Float32, t.Shape, LittleEndian(t.Values))));

    /// <summary>
    /// Writes <paramref name="tensors"/> (name, element type, shape, the row-major values as little-endian bytes) and the
    /// free-form <paramref name="metadata"/> strings to <paramref name="path"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A tensor's bytes do not fill its shape, or a name repeats or is <c>__metadata__</c>.</exception>
    public static void Write(string path, IEnumerable<(string Name, SafetensorsDType DType, long[] Shape, byte[] Data)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        var data = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (name, _, _, bytes) in list)
        {
            data.TryAdd(name, bytes);
        }

        Write(path, [.. list.Select(t => (t.Name, t.DType, t.Shape))], name => data[name], metadata);
    }

    /// <summary>
    /// Writes the tensors <paramref name="layout"/> declares (name, element type, shape), asking <paramref name="read"/> for
    /// each one's little-endian bytes only when its turn comes, so memory holds one tensor at a time whatever the file's
    /// size; <paramref name="metadata"/> as above. The file is written beside <paramref name="path"/> under a temporary name
    /// and renamed into place only once complete; on any failure (or cancellation) the temporary file is deleted.
    /// </summary>
    /// <exception cref="ArgumentException">A name repeats or is <c>__metadata__</c>, or <paramref name="read"/> returns bytes that do not fill a tensor's shape.</exception>
    public static void Write(string path, IReadOnlyList<(string Name, SafetensorsDType DType, long[] Shape)> layout, Func<string, byte[]> read,
        IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(read);
        var list = layout.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        if (list.Select(t => t.Name).Distinct(StringComparer.Ordinal).Count() != list.Count || list.Any(t => t.Name == "__metadata__"))
        {
            throw new ArgumentException("Tensor names must be unique and not __metadata__.", nameof(layout));
        }

        using var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (var (name, dtype, shape) in list)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", SafetensorsDTypes.Name(dtype));
                json.WriteStartArray("shape");
                foreach (var dim in shape)
                {
                    json.WriteNumberValue(dim);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset += Bytes(shape, dtype));
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
            using (var file = new FileStream(staging, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> length = stackalloc byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(length, header.Length);
                file.Write(length);
                header.Position = 0;
                header.CopyTo(file);
                foreach (var (name, dtype, shape) in list)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var data = read(name);
                    var bytes = Bytes(shape, dtype);
                    if (bytes != data.LongLength)
                    {
                        throw new ArgumentException($"Tensor '{name}' has {data.LongLength} bytes; shape [{string.Join(",", shape)}] of {SafetensorsDTypes.Name(dtype)} needs {bytes}.", nameof(read));
                    }

                    file.Write(data);
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

    private static long Bytes(long[] shape, SafetensorsDType dtype) => shape.Aggregate(1L, (a, b) => checked(a * b)) * SafetensorsDTypes.Size(dtype);

    private static byte[] LittleEndian(float[] values)
    {
        var bytes = new byte[values.LongLength * 4];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }

        return bytes;
    }
}
