namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// The lineart annotators' weights as torch.save writes them, in the published files' layout (float32 storages):
/// <c>sk_model.pth</c> and <c>sk_model2.pth</c> (informative-drawings' Generator: <c>model0</c> … <c>model4</c>), with the
/// deterministic weights of tools/reference/make_lineart.py (make_hed.py's hash, offset per file), so the tests carry the
/// reference maps (<c>TestData/lineart-reference.json</c>) instead of the 17 MB files.
/// </summary>
public static class LineartWeights
{
    /// <summary>The realistic file's name.</summary>
    public const string Realistic = "sk_model.pth";

    /// <summary>The coarse file's name.</summary>
    public const string Coarse = "sk_model2.pth";

    private static readonly Lock Gate = new();

    /// <summary>A models folder whose <c>annotators</c> holds both files (<see cref="Shared"/>).</summary>
    public static string ModelsFolder => Path.Combine(Path.GetTempPath(), "flowdiffusion-tests", "lineart-1", "models");

    /// <summary>The file <paramref name="name"/> in <see cref="ModelsFolder"/>/annotators, written once per machine (a stable path keeps the converted graph cached).</summary>
    public static string Shared(string name)
    {
        var path = Path.Combine(ModelsFolder, "annotators", name);
        lock (Gate)
        {
            if (!File.Exists(path))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                var staging = path + "." + Guid.NewGuid().ToString("N")[..8];
                Write(staging, name);
                try
                {
                    File.Move(staging, path);
                }
                catch (IOException) when (File.Exists(path))
                {
                    File.Delete(staging);
                }
            }
        }

        return path;
    }

    /// <summary>Writes <paramref name="name"/>'s weights to <paramref name="path"/>; <paramref name="skip"/> leaves one tensor out, <paramref name="reshape"/> gives one a wrong shape.</summary>
    public static void Write(string path, string name, string? skip = null, string? reshape = null)
    {
        var offset = name switch
        {
            Realistic => 0,
            Coarse => 1000,
            _ => throw new ArgumentException($"no lineart weights named {name}", nameof(name)),
        };
        TorchSaveFile.Write(path, Layout().Select((tensor, t) =>
        {
            var count = (int)tensor.Shape.Aggregate(1L, (a, b) => a * b);
            var values = TorchSaveFile.Hashed(t + offset, count, Exponent(tensor.Name, tensor.Shape, tensor.Transposed));
            return new TorchSaveFile.Tensor(tensor.Name, tensor.Name == reshape ? [count] : tensor.Shape, "FloatStorage", TorchSaveFile.FloatBytes(values));
        }).Where(t => t.Name != skip).ToList());
    }

    // The Generator's state dict in torch's order (make_lineart.py reads it from the torch module).
    private static IEnumerable<(string Name, long[] Shape, bool Transposed)> Layout()
    {
        IEnumerable<(string, long[], bool)> Conv(string name, long outputs, long inputs, long kernel) =>
            [($"{name}.weight", [outputs, inputs, kernel, kernel], false), ($"{name}.bias", [outputs], false)];
        IEnumerable<(string, long[], bool)> Transposed(string name, long inputs, long outputs) =>
            [($"{name}.weight", [inputs, outputs, 3, 3], true), ($"{name}.bias", [outputs], false)];
        return
        [
            .. Conv("model0.1", 64, 3, 7), .. Conv("model1.0", 128, 64, 3), .. Conv("model1.3", 256, 128, 3),
            .. Enumerable.Range(0, 3).SelectMany(b => Conv($"model2.{b}.conv_block.1", 256, 256, 3).Concat(Conv($"model2.{b}.conv_block.5", 256, 256, 3))),
            .. Transposed("model3.0", 256, 128), .. Transposed("model3.3", 128, 64), .. Conv("model4.1", 1, 64, 7),
        ];
    }

    /// <summary>make_lineart.py's exponent(): 4 for biases, else ≈ He-uniform over the fan-in (in · k · k for a transposed weight [in, out, k, k]).</summary>
    internal static int Exponent(string name, long[] shape, bool transposed)
    {
        if (name.EndsWith(".bias", StringComparison.Ordinal)) return 4;
        var fanIn = transposed ? shape[0] * shape[2] * shape[3] : shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        return (int)Math.Round(Math.Log2(1 / Math.Sqrt(6.0 / fanIn)), MidpointRounding.ToEven);
    }
}
