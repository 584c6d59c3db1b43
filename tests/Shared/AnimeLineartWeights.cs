namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// The anime lineart annotator's <c>netG.pth</c> as torch.save writes it, in the published key layout (pix2pix's
/// UnetGenerator, DataParallel's <c>module.</c> prefix) with make_lineart.py's deterministic weights (offset 2000), so the
/// tests carry the reference maps instead of the file. Stored as float16 (the published file is float32; both are read)
/// to halve the 54 million weights' file the tests write.
/// </summary>
public static class AnimeLineartWeights
{
    /// <summary>The file's name.</summary>
    public const string FileName = "netG.pth";

    private static readonly (int Outer, int Inner)[] Levels = [(1, 64), (64, 128), (128, 256), (256, 512), (512, 512), (512, 512), (512, 512), (512, 512)];
    private static readonly Lock Gate = new();

    /// <summary>A models folder whose <c>annotators</c> holds the file (<see cref="Shared"/>).</summary>
    public static string ModelsFolder => Path.Combine(Path.GetTempPath(), "flowdiffusion-tests", "lineart-anime-1", "models");

    /// <summary>The file in <see cref="ModelsFolder"/>/annotators, written once per machine.</summary>
    public static string Shared()
    {
        var path = Path.Combine(ModelsFolder, "annotators", FileName);
        lock (Gate)
        {
            if (!File.Exists(path))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                var staging = path + "." + Guid.NewGuid().ToString("N")[..8];
                Write(staging);
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

    /// <summary>Writes the file to <paramref name="path"/>; <paramref name="skip"/> leaves one tensor out (named without <c>module.</c>).</summary>
    public static void Write(string path, string? skip = null) =>
        TorchSaveFile.Write(path, Layout(0, "model.model").Select((tensor, t) =>
        {
            var count = (int)tensor.Shape.Aggregate(1L, (a, b) => a * b);
            var values = TorchSaveFile.Hashed(t + 2000, count, LineartWeights.Exponent(tensor.Name, tensor.Shape, tensor.Transposed));
            return (tensor.Name, Tensor: new TorchSaveFile.Tensor("module." + tensor.Name, tensor.Shape, "HalfStorage", TorchSaveFile.HalfBytes(values)));
        }).Where(x => x.Name != skip).Select(x => x.Tensor).ToList());

    // The state dict in torch's order: a block's down convolution, its inner block (Sequential index 1 in the outermost, 3
    // below), its up convolution (index 3 in the outermost and innermost, 5 between).
    private static IEnumerable<(string Name, long[] Shape, bool Transposed)> Layout(int level, string prefix)
    {
        var (outer, inner) = Levels[level];
        var innermost = level == Levels.Length - 1;
        var down = level == 0 ? 0 : 1;
        yield return ($"{prefix}.{down}.weight", [inner, level == 0 ? 3 : outer, 4, 4], false);
        yield return ($"{prefix}.{down}.bias", [inner], false);
        if (!innermost)
            foreach (var tensor in Layout(level + 1, $"{prefix}.{(level == 0 ? 1 : 3)}.model")) yield return tensor;
        var up = level == 0 || innermost ? 3 : 5;
        yield return ($"{prefix}.{up}.weight", [innermost ? inner : 2 * inner, outer, 4, 4], true);
        yield return ($"{prefix}.{up}.bias", [outer], false);
    }
}
