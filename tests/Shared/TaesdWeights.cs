using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// TAESD's two files in the published layout (madebyollin's <c>taesd_decoder</c>/<c>taesd_encoder</c>: the
/// <c>nn.Sequential</c> state dicts, <c>N.weight</c>/<c>N.bias</c> per convolution, <c>N.conv.{0,2,4}</c> per block), with
/// the deterministic weights of tools/reference/make_taesd.py, so the tests carry its reference outputs
/// (<c>tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/taesd-reference.json</c>). The decoder is written as
/// float32 .safetensors (its last bias is not exact in float16), the encoder as a float16 .pth, as torch.save writes it.
/// </summary>
public static class TaesdWeights
{
    private const int EncoderOffset = 100;
    private static readonly Lock Gate = new();

    /// <summary>A models folder whose <c>vae_approx</c> holds the taesd and taesdxl halves (the same weights).</summary>
    public static string ModelsFolder => Path.Combine(Path.GetTempPath(), "flowdiffusion-tests", "taesd-1", "models");

    /// <summary>Writes <see cref="ModelsFolder"/>'s files once per machine (stable paths keep the converted graphs cached) and returns <c>vae_approx</c>.</summary>
    public static string Shared()
    {
        var folder = Path.Combine(ModelsFolder, "vae_approx");
        lock (Gate)
        {
            foreach (var name in new[] { "taesd", "taesdxl" })
            {
                Once(Path.Combine(folder, $"{name}_decoder.safetensors"), p => WriteDecoder(p));
                Once(Path.Combine(folder, $"{name}_encoder.pth"), p => WriteEncoder(p));
            }
        }

        return folder;
    }

    /// <summary>Writes the decoder; <paramref name="skip"/> leaves one tensor out, <paramref name="reshape"/> flattens one.</summary>
    public static void WriteDecoder(string path, string? skip = null, string? reshape = null) =>
        SafetensorsWriter.WriteFloat32(path, Tensors(DecoderLayout(), 0, skip, reshape).Select(t => (t.Name, t.Shape,
            t.Name == "19.bias" ? [.. t.Values.Select(v => (float)v + 0.5f)] : t.Values.Select(v => (float)v).ToArray())));

    /// <summary>Writes the encoder as a .pth; <paramref name="skip"/> leaves one tensor out, <paramref name="reshape"/> flattens one.</summary>
    public static void WriteEncoder(string path, string? skip = null, string? reshape = null) =>
        TorchSaveFile.Write(path, Tensors(EncoderLayout(), EncoderOffset, skip, reshape));

    private static void Once(string path, Action<string> write)
    {
        if (File.Exists(path)) return;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var staging = path + "." + Guid.NewGuid().ToString("N")[..8] + Path.GetExtension(path);
        write(staging);
        try
        {
            File.Move(staging, path);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(staging);
        }
    }

    private static IEnumerable<(string Name, long[] Shape, Half[] Values)> Tensors(IEnumerable<(string Name, long[] Shape)> layout, int offset, string? skip, string? reshape)
    {
        var t = offset;
        foreach (var (name, shape) in layout)
        {
            var count = (int)shape.Aggregate(1L, (a, b) => a * b);
            var values = TorchSaveFile.Hashed(t++, count, Exponent(name, shape));
            if (name != skip) yield return (name, name == reshape ? [count] : shape, values);
        }
    }

    // make_taesd.py's exponent().
    private static int Exponent(string name, long[] shape)
    {
        if (name.EndsWith(".bias", StringComparison.Ordinal)) return 6;
        var fanIn = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        var e = (int)Math.Round(Math.Log2(1 / Math.Sqrt(6.0 / fanIn)), MidpointRounding.ToEven);
        return name.EndsWith("conv.4.weight", StringComparison.Ordinal) ? e + 3 : name == "19.weight" ? e + 4 : name == "14.weight" ? e + 2 : e;
    }

    // The state dicts' order: make_taesd.py's encoder() and decoder() modules.
    private static IEnumerable<(string Name, long[] Shape)> EncoderLayout() =>
        [.. Conv(0, 3, 64, true), .. Blocks(1), .. Conv(2, 64, 64, false), .. Blocks(3, 4, 5), .. Conv(6, 64, 64, false), .. Blocks(7, 8, 9),
            .. Conv(10, 64, 64, false), .. Blocks(11, 12, 13), .. Conv(14, 64, 4, true)];

    private static IEnumerable<(string Name, long[] Shape)> DecoderLayout() =>
        [.. Conv(1, 4, 64, true), .. Blocks(3, 4, 5), .. Conv(7, 64, 64, false), .. Blocks(8, 9, 10), .. Conv(12, 64, 64, false), .. Blocks(13, 14, 15),
            .. Conv(17, 64, 64, false), .. Blocks(18), .. Conv(19, 64, 3, true)];

    private static IEnumerable<(string Name, long[] Shape)> Conv(int index, int inputs, int outputs, bool bias) =>
        bias ? [($"{index}.weight", [outputs, inputs, 3, 3]), ($"{index}.bias", [outputs])] : [($"{index}.weight", [outputs, inputs, 3, 3])];

    private static IEnumerable<(string Name, long[] Shape)> Blocks(params int[] indices) =>
        indices.SelectMany(i => new[] { 0, 2, 4 }.SelectMany(j => new (string, long[])[] { ($"{i}.conv.{j}.weight", [64, 64, 3, 3]), ($"{i}.conv.{j}.bias", [64]) }));
}
