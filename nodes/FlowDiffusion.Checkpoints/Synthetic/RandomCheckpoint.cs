using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace FlowDiffusion.Checkpoints.Synthetic;

/// <summary>
/// Writes a diffusers-folder checkpoint (<c>unet/</c>, <c>text_encoder/</c>, <c>vae/</c> safetensors, float16) of an
/// <see cref="Sd1Layout"/> with random weights that depend only on the seed and each tensor's name. Speed does not
/// depend on the weights' values, so such a checkpoint costs what a trained one of the same architecture costs.
/// </summary>
/// <remarks>
/// Matrices and kernels are uniform in ±1/√fan-in (PyTorch's default initialisation bound), norm scales 1, biases 0,
/// so activations stay finite through the network. With <c>shapesOnly</c> the data section is left unwritten (a sparse
/// file of zeros on file systems that support it): enough for architecture detection and graph building.
/// </remarks>
public static class RandomCheckpoint
{
    private const int Chunk = 1 << 20;
    private const ulong Golden = 0x9E3779B97F4A7C15UL;

    /// <summary>Writes the checkpoint folder at <paramref name="folder"/> (created if missing).</summary>
    public static void Write(Sd1Layout layout, string folder, ulong seed, bool shapesOnly = false)
    {
        WriteFile(Path.Combine(folder, "unet", "diffusion_pytorch_model.safetensors"), layout.UNet(), seed, shapesOnly);
        WriteFile(Path.Combine(folder, "text_encoder", "model.safetensors"), layout.TextEncoder(), seed, shapesOnly);
        WriteFile(Path.Combine(folder, "vae", "diffusion_pytorch_model.safetensors"), layout.Vae(), seed, shapesOnly);
    }

    /// <summary>Writes an SDXL checkpoint folder (<c>unet/</c>, <c>text_encoder/</c>, <c>text_encoder_2/</c>, <c>vae/</c>) at <paramref name="folder"/>.</summary>
    public static void Write(SdxlLayout layout, string folder, ulong seed, bool shapesOnly = false)
    {
        WriteFile(Path.Combine(folder, "unet", "diffusion_pytorch_model.safetensors"), layout.UNet(), seed, shapesOnly);
        WriteFile(Path.Combine(folder, "text_encoder", "model.safetensors"), layout.TextEncoder(), seed, shapesOnly);
        WriteFile(Path.Combine(folder, "text_encoder_2", "model.safetensors"), layout.TextEncoder2(), seed, shapesOnly);
        WriteFile(Path.Combine(folder, "vae", "diffusion_pytorch_model.safetensors"), layout.Vae(), seed, shapesOnly);
    }

    private static void WriteFile(string path, IEnumerable<(string Name, long[] Shape)> tensors, ulong seed, bool shapesOnly)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var list = tensors.ToList();
        var header = new MemoryStream();
        long offset = 0;
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            foreach (var (name, shape) in list)
            {
                var bytes = Count(shape) * 2;
                json.WriteStartObject(name);
                json.WriteString("dtype", "F16");
                json.WriteStartArray("shape");
                foreach (var d in shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }

            json.WriteEndObject();
        }

        // The header is padded with spaces to a multiple of 8, as the reference writer does.
        while (header.Length % 8 != 0)
        {
            header.WriteByte((byte)' ');
        }

        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        file.Write(length);
        header.Position = 0;
        header.CopyTo(file);
        if (shapesOnly)
        {
            file.SetLength(file.Position + offset);
            return;
        }

        foreach (var (name, shape) in list)
        {
            WriteValues(file, name, shape, seed);
        }
    }

    private static void WriteValues(FileStream file, string name, long[] shape, ulong seed)
    {
        var count = Count(shape);
        var (low, high) = Range(name, shape);
        var chunks = (int)((count + Chunk - 1) / Chunk);
        var stream = Hash(name) ^ seed;
        var buffer = new byte[Math.Min(count, Chunk) * 2];
        for (var c = 0; c < chunks; c++)
        {
            var n = (int)Math.Min(Chunk, count - (long)c * Chunk);
            var values = MemoryMarshal.Cast<byte, Half>(buffer.AsSpan(0, n * 2));
            var start = SplitMix(stream + (ulong)c); // each chunk its own SplitMix64 sequence
            for (var i = 0; i < n; i++)
            {
                var unit = (SplitMix(start + ((ulong)i * Golden)) >> 40) * (1.0f / (1 << 24)); // 24 random bits in [0, 1)
                values[i] = (Half)(low + (high - low) * unit);
            }

            file.Write(buffer, 0, n * 2);
        }
    }

    // Norm scales 1 and biases 0 (constant ranges); matrices and kernels uniform in ±1/√fan-in.
    private static (float Low, float High) Range(string name, long[] shape)
    {
        if (shape.Length == 1)
        {
            var scale = name.EndsWith(".weight", StringComparison.Ordinal) ? 1f : 0f;
            return (scale, scale);
        }

        var fanIn = shape.Skip(1).Aggregate(1L, (a, d) => a * d);
        var bound = 1f / MathF.Sqrt(fanIn);
        return (-bound, bound);
    }

    private static long Count(long[] shape) => shape.Aggregate(1L, (a, d) => a * d);

    private static ulong SplitMix(ulong x)
    {
        x += Golden;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    // FNV-1a over the name's UTF-8 bytes: a stable per-tensor stream, independent of the tensors' order.
    private static ulong Hash(string name)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(name))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }
}
