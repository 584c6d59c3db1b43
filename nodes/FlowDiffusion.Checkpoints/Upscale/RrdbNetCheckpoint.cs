using System.Globalization;
using System.Text.RegularExpressions;
using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Upscale;

/// <summary>
/// An ESRGAN / Real-ESRGAN generator (RRDBNet) read from <c>.safetensors</c>, in either published key layout: Real-ESRGAN's
/// (<c>conv_first</c>, <c>body.N.rdb1.conv1</c>, <c>conv_body</c>, <c>conv_up1</c>, <c>conv_up2</c>, <c>conv_hr</c>,
/// <c>conv_last</c>) or the original ESRGAN's sequential one (<c>model.0</c>, <c>model.1.sub.N.RDB1.conv1.0</c>, the
/// trunk convolution <c>model.1.sub.&lt;blocks&gt;</c>, then <c>model.3</c>, <c>model.6</c> … for the upsamplings and the last
/// two for conv_hr and conv_last). Tensors are kept under Real-ESRGAN's names; the shape is read from them.
/// </summary>
public sealed partial class RrdbNetCheckpoint : IDisposable
{
    private readonly SafetensorsFile _file;

    private RrdbNetCheckpoint(SafetensorsFile file, string source, string layout, Dictionary<string, StoredTensor> tensors)
    {
        _file = file;
        Source = source;
        Layout = layout;
        Tensors = tensors;
        Architecture = Detect(tensors, source);
    }

    /// <summary>The file it came from.</summary>
    public string Source { get; }

    /// <summary><c>real-esrgan</c> (conv_first …) or <c>esrgan</c> (model.0 …).</summary>
    public string Layout { get; }

    /// <summary>The tensors under Real-ESRGAN's names.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>The shape read from the tensors.</summary>
    public RrdbNetArchitecture Architecture { get; }

    /// <summary>Whether the keys are an RRDBNet's, in either layout.</summary>
    public static bool IsRrdbNet(IEnumerable<string> keys) =>
        keys.Any(k => k.StartsWith("conv_first.", StringComparison.Ordinal) || OldBlockKey().IsMatch(k));

    /// <summary>Opens an ESRGAN <c>.safetensors</c> file; throws a <see cref="CheckpointException"/> naming it when it is none.</summary>
    public static RrdbNetCheckpoint Open(string path)
    {
        var file = SafetensorsFile.Open(path);
        try
        {
            var keys = file.Tensors.Keys.ToArray();
            string layout;
            Dictionary<string, string> names;
            if (keys.Any(k => k.StartsWith("conv_first.", StringComparison.Ordinal)))
            {
                layout = "real-esrgan";
                names = keys.ToDictionary(k => k, k => k, StringComparer.Ordinal);
            }
            else if (keys.Any(k => OldBlockKey().IsMatch(k)))
            {
                layout = "esrgan";
                names = OldNames(keys, path);
            }
            else
            {
                throw new CheckpointException($"{path}: no ESRGAN keys (conv_first.* / body.N.rdb1.* or model.0.* / model.1.sub.N.RDB1.*); this is not an RRDBNet upscaler.");
            }

            var tensors = names.ToDictionary(p => p.Value, p => new StoredTensor(file, file.Tensors[p.Key], file.Tensors[p.Key].Shape), StringComparer.Ordinal);
            return new RrdbNetCheckpoint(file, path, layout, tensors);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The ONNX graph: <c>image</c> [B, in, h, w] in [0, 1] → <c>upscaled</c> [B, out, s·h, s·w].</summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => RrdbNetGraph.Build(Tensors, Architecture, Source, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();

    private static RrdbNetArchitecture Detect(IReadOnlyDictionary<string, StoredTensor> tensors, string source)
    {
        long[] Shape(string name) => tensors.TryGetValue(name, out var t) ? t.Shape : throw new CheckpointException($"{source}: ESRGAN tensor '{name}' is missing.");
        var first = Shape("conv_first.weight");
        var last = Shape("conv_last.weight");
        var blocks = Shapes.CountIndices(tensors.Keys, "body.");
        var upsamplings = 0;
        while (tensors.ContainsKey($"conv_up{upsamplings + 1}.weight"))
        {
            upsamplings++;
        }

        if (blocks == 0)
        {
            throw new CheckpointException($"{source}: the ESRGAN network has no RRDB blocks (body.N).");
        }

        var features = (int)first[0];
        var growth = (int)Shape("body.0.rdb1.conv1.weight")[0];
        var outChannels = (int)last[0];
        // Real-ESRGAN's x2 and x1 models unshuffle the image first: conv_first then sees 4x or 16x the image channels.
        var unshuffle = first[1] == outChannels * 16 ? 4 : first[1] == outChannels * 4 ? 2 : 1;
        if (unshuffle > 1 << upsamplings)
        {
            throw new CheckpointException($"{source}: the ESRGAN network unshuffles by {unshuffle} but upsamples only {1 << upsamplings}x.");
        }

        Shape("conv_body.weight");
        Shape("conv_hr.weight");
        return new RrdbNetArchitecture((int)first[1] / (unshuffle * unshuffle), outChannels, features, growth, blocks, upsamplings, unshuffle);
    }

    // The original layout: model.0, model.1.sub.N.RDBr.convk.0, model.1.sub.<blocks> (trunk), then model.K convolutions
    // in order: the upsamplings, conv_hr, conv_last.
    private static Dictionary<string, string> OldNames(string[] keys, string source)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var blocks = keys.Select(k => OldBlockKey().Match(k)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Distinct().Count();
        var tail = keys.Select(k => OldTailKey().Match(k)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Where(i => i >= 2).Distinct().Order().ToArray();
        if (tail.Length < 3)
        {
            throw new CheckpointException($"{source}: the ESRGAN network has {tail.Length} convolutions after its trunk; at least one upsampling, conv_hr and conv_last expected.");
        }

        foreach (var key in keys)
        {
            Match m;
            if ((m = OldBlockKey().Match(key)).Success)
            {
                names[key] = $"body.{m.Groups[1].Value}.rdb{m.Groups[2].Value}.conv{m.Groups[3].Value}.{m.Groups[4].Value}";
            }
            else if ((m = OldTailKey().Match(key)).Success)
            {
                var index = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                var position = Array.IndexOf(tail, index);
                names[key] = (index == 0 ? "conv_first" : position == tail.Length - 1 ? "conv_last" : position == tail.Length - 2 ? "conv_hr" : $"conv_up{position + 1}") + "." + m.Groups[2].Value;
            }
            else if ((m = OldTrunkKey().Match(key)).Success && int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) == blocks)
            {
                names[key] = "conv_body." + m.Groups[2].Value;
            }
            else
            {
                throw new CheckpointException($"{source}: tensor '{key}' fits no ESRGAN module (model.0, model.1.sub.N.RDBr.convk.0, model.1.sub.{blocks}, model.K after the trunk).");
            }
        }

        return names;
    }

    [GeneratedRegex(@"^model\.1\.sub\.(\d+)\.RDB([123])\.conv([1-5])\.0\.(weight|bias)$")]
    private static partial Regex OldBlockKey();

    [GeneratedRegex(@"^model\.(\d+)\.(weight|bias)$")]
    private static partial Regex OldTailKey();

    [GeneratedRegex(@"^model\.1\.sub\.(\d+)\.(weight|bias)$")]
    private static partial Regex OldTrunkKey();
}
