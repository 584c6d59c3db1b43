namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// A table5_pidinet.pth as its training script saved it (torch.save of <c>{"state_dict": ...}</c>, every key with
/// DataParallel's <c>module.</c> prefix; PiDiNet carv4 with CDCM and CSAM at its real shapes), with the deterministic
/// weights of tools/reference/make_pidinet.py (make_hed.py's hash, float16 storages), so the tests carry the reference maps
/// (<c>tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/pidinet-reference.json</c>) instead of the published file.
/// </summary>
public static class PidinetWeights
{
    private const int Dilation = 24;
    private static readonly int[] Fuse = [60, 120, 240, 240];
    private static readonly Lock Gate = new();

    /// <summary>A models folder whose <c>annotators</c> holds <see cref="Shared"/>'s file.</summary>
    public static string ModelsFolder => Path.Combine(Path.GetTempPath(), "flowdiffusion-tests", "pidinet-1", "models");

    /// <summary>The file (<see cref="ModelsFolder"/>/annotators/table5_pidinet.pth), written once per machine (a stable path keeps the converted graph cached).</summary>
    public static string Shared()
    {
        var path = Path.Combine(ModelsFolder, "annotators", "table5_pidinet.pth");
        lock (Gate) TorchSaveFile.WriteOnce(path, staging => Write(staging));
        return path;
    }

    /// <summary>
    /// Writes the file to <paramref name="path"/>; <paramref name="skip"/> leaves one tensor out, <paramref name="reshape"/>
    /// gives one tensor a wrong shape (names without <c>module.</c>); <paramref name="prefix"/> false writes the keys bare.
    /// </summary>
    public static void Write(string path, string? skip = null, string? reshape = null, bool prefix = true)
    {
        var tensors = new List<(string Name, long[] Shape, Half[] Values)>();
        var t = 0;
        foreach (var (name, shape, kind) in Layout())
        {
            var count = (int)shape.Aggregate(1L, (a, b) => a * b);
            var values = TorchSaveFile.Hashed(t++, count, Exponent(name, shape, kind));
            if (name != skip) tensors.Add(((prefix ? "module." : "") + name, name == reshape ? [count] : shape, values));
        }

        TorchSaveFile.Write(path, tensors, "state_dict");
    }

    // make_pidinet.py's keys(): every tensor in state-dict order, with its kind.
    private static IEnumerable<(string Name, long[] Shape, string Kind)> Layout()
    {
        yield return ("init_block.weight", [60, 3, 3, 3], "pdc");
        foreach (var (stage, inputs, outputs, blocks) in new[] { (1, 60, 60, 3), (2, 60, 120, 4), (3, 120, 240, 4), (4, 240, 240, 4) })
        {
            for (var j = 1; j <= blocks; j++)
            {
                var cin = j == 1 ? inputs : outputs;
                if (j == 1 && stage > 1)
                {
                    yield return ($"block{stage}_{j}.shortcut.weight", [outputs, cin, 1, 1], "conv");
                    yield return ($"block{stage}_{j}.shortcut.bias", [outputs], "bias");
                }

                yield return ($"block{stage}_{j}.conv1.weight", [cin, 1, 3, 3], "pdc");
                yield return ($"block{stage}_{j}.conv2.weight", [outputs, cin, 1, 1], "conv");
            }
        }

        for (var i = 0; i < 4; i++)
        {
            yield return ($"dilations.{i}.conv1.weight", [Dilation, Fuse[i], 1, 1], "conv");
            yield return ($"dilations.{i}.conv1.bias", [Dilation], "bias");
            for (var k = 1; k <= 4; k++) yield return ($"dilations.{i}.conv2_{k}.weight", [Dilation, Dilation, 3, 3], "dilated");
        }

        for (var i = 0; i < 4; i++)
        {
            yield return ($"attentions.{i}.conv1.weight", [4, Dilation, 1, 1], "conv");
            yield return ($"attentions.{i}.conv1.bias", [4], "bias");
            yield return ($"attentions.{i}.conv2.weight", [1, 4, 3, 3], "conv");
        }

        for (var i = 0; i < 4; i++)
        {
            yield return ($"conv_reduces.{i}.conv.weight", [1, Dilation, 1, 1], "reduce");
            yield return ($"conv_reduces.{i}.conv.bias", [1], "bias");
        }

        yield return ("classifier.weight", [1, 4, 1, 1], "reduce");
        yield return ("classifier.bias", [1], "bias");
    }

    // make_pidinet.py's exponent().
    private static int Exponent(string name, long[] shape, string kind)
    {
        if (kind == "bias") return 4;
        var fanIn = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        var e = (int)Math.Round(Math.Log2(1 / Math.Sqrt(6.0 / fanIn)), MidpointRounding.ToEven);
        if (name == "init_block.weight") e -= 2;
        if (kind == "dilated") e += 1;
        if (name.StartsWith("block", StringComparison.Ordinal) && name.EndsWith(".conv2.weight", StringComparison.Ordinal)) e += 2;
        if (kind == "reduce") e -= 1;
        return e;
    }
}
