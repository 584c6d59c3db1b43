using System.Numerics.Tensors;
using FlowDiffusion.Checkpoints.Lora;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.ControlNet;

/// <summary>
/// A Control-LoRA (Stability AI's <c>control-lora-*-rank*.safetensors</c>, marked by a <c>lora_controlnet</c> tensor): a
/// ControlNet stored as changes to the UNet it controls. Its keys are the ControlNet's original names without a prefix:
/// weights in full (the hint block, zero convolutions, middle block out, and any encoder weight it replaces — biases and
/// norms) and, for encoder layers, a low-rank pair <c>&lt;module&gt;.up</c> / <c>&lt;module&gt;.down</c>. As ComfyUI's
/// ControlLora builds it when sampling starts, the ControlNet is the sampled model's UNet encoder (conv_in, the time and
/// added embeddings, the down blocks and the middle block, with the model's patches), then the file's full weights, then
/// each pair's up·down (both flattened to matrices, the product reshaped to the weight) added to its weight, unscaled.
/// A "diff" ControlNet (kohya's <c>diff_control_sd15_*</c>, marked by a <c>difference</c> tensor, keys under
/// <c>control_model.</c>) is read the same way: each of its encoder weights is a difference the UNet's weight is added
/// to (<see cref="IsDifference"/>), as ComfyUI's DiffControlNetLoader adds the model's weights; it has no pairs.
/// </summary>
public sealed class ControlLoraFile : IDisposable
{
    /// <summary>The tensor that marks a Control-LoRA (ComfyUI's test).</summary>
    public const string MarkerKey = "lora_controlnet";

    /// <summary>The tensor that marks a diff ControlNet (ComfyUI's test).</summary>
    public const string DifferenceKey = "difference";

    private static readonly string[] EncoderPrefixes = ["conv_in.", "time_embedding.", "add_embedding.", "down_blocks.", "mid_block."];
    private readonly SafetensorsFile _file;

    private ControlLoraFile(SafetensorsFile file, string path, Dictionary<string, StoredTensor> full, Dictionary<string, (StoredTensor Up, StoredTensor Down)> pairs, bool difference)
    {
        _file = file;
        Path = path;
        Full = full;
        Pairs = pairs;
        IsDifference = difference;
    }

    /// <summary>Whether it is a diff ControlNet: its encoder weights are added to the UNet's rather than replacing them.</summary>
    public bool IsDifference { get; }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The weights it holds in full, by diffusers ControlNet name.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Full { get; }

    /// <summary>The low-rank pairs, by the diffusers name of the weight they change.</summary>
    public IReadOnlyDictionary<string, (StoredTensor Up, StoredTensor Down)> Pairs { get; }

    /// <summary>Whether <paramref name="keys"/> are a Control-LoRA's.</summary>
    public static bool IsControlLora(IEnumerable<string> keys) => keys.Contains(MarkerKey, StringComparer.Ordinal);

    /// <summary>Whether <paramref name="keys"/> are a ControlNet made from the UNet it is applied to: a Control-LoRA's or a diff ControlNet's (<c>difference</c> beside <c>control_model.*</c> keys).</summary>
    public static bool IsModelRelative(IReadOnlyCollection<string> keys) =>
        IsControlLora(keys) || (keys.Contains(DifferenceKey, StringComparer.Ordinal) && ControlNetKeyMap.LdmPrefix(keys) is not null);

    /// <summary>Opens <paramref name="path"/>; throws a <see cref="CheckpointException"/> naming the file and the key when a key fits no ControlNet module.</summary>
    public static ControlLoraFile Open(string path)
    {
        var file = SafetensorsFile.Open(path);
        try
        {
            var all = file.Tensors.Keys.ToArray();
            if (!IsModelRelative(all))
            {
                throw new CheckpointException($"{path}: no '{MarkerKey}' or '{DifferenceKey}' tensor; this is not a Control-LoRA or a diff ControlNet.");
            }

            var difference = !IsControlLora(all);
            var prefix = difference ? ControlNetKeyMap.LdmPrefix(all)! : "";
            var keys = all.Where(k => k != MarkerKey && k != DifferenceKey && k.StartsWith(prefix, StringComparison.Ordinal)).ToArray();
            // The pairs name their module; mapped as its weight, they take that weight's diffusers name.
            var modules = difference ? [] : keys.Where(IsPairKey).Select(k => k[..k.LastIndexOf('.')]).Distinct(StringComparer.Ordinal).ToArray();
            var plain = keys.Where(k => difference || !IsPairKey(k)).ToArray();
            var names = ControlNetKeyMap.Map([.. plain, .. modules.Select(m => m + ".weight").Where(w => !plain.Contains(w, StringComparer.Ordinal))], prefix, path);
            var full = plain.ToDictionary(k => names[k], k => Stored(file, k), StringComparer.Ordinal);
            var pairs = new Dictionary<string, (StoredTensor, StoredTensor)>(StringComparer.Ordinal);
            foreach (var module in modules)
            {
                if (!file.Tensors.ContainsKey(module + ".up") || !file.Tensors.ContainsKey(module + ".down"))
                {
                    throw new CheckpointException($"{path}: Control-LoRA tensor '{module}.{(file.Tensors.ContainsKey(module + ".up") ? "down" : "up")}' is missing beside '{module}.{(file.Tensors.ContainsKey(module + ".up") ? "up" : "down")}'.");
                }

                pairs[names[module + ".weight"]] = (Stored(file, module + ".up"), Stored(file, module + ".down"));
            }

            return new ControlLoraFile(file, path, full, pairs, difference);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Whether <paramref name="name"/> (a diffusers UNet weight) is part of the encoder a ControlNet copies.</summary>
    public static bool IsEncoderWeight(string name) => EncoderPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));

    /// <summary>
    /// The ControlNet's tensors (diffusers ControlNet names, float32): each of the UNet's encoder weights
    /// (<paramref name="unetWeights"/>, values from <paramref name="readUNet"/>) or the file's replacement, plus its pair's
    /// up·down; then the file's other full weights. Written one tensor at a time to <paramref name="destination"/>.
    /// </summary>
    /// <exception cref="CheckpointException">A pair or full weight fits no UNet encoder weight or not its shape; the message names the file and tensor.</exception>
    public void WriteControlNet(string destination, IReadOnlyList<(string Name, long[] Shape)> unetWeights, Func<string, float[]> readUNet, CancellationToken cancellationToken)
    {
        var encoder = unetWeights.Where(w => IsEncoderWeight(w.Name)).ToDictionary(w => w.Name, w => w.Shape, StringComparer.Ordinal);
        foreach (var (name, (up, down)) in Pairs)
        {
            if (!encoder.TryGetValue(name, out var shape))
            {
                throw new CheckpointException($"{Path}: the Control-LoRA changes '{name}' (diffusers name), which the model's UNet encoder lacks; it was made for another model.");
            }

            var rank = up.Shape.Length >= 2 ? up.Shape[1] : -1;
            var rows = up.Shape[0];
            var columns = down.Shape.Skip(1).Aggregate(1L, (a, b) => a * b);
            if (rank < 1 || down.Shape.Length < 2 || down.Shape[0] != rank || up.Shape.Skip(2).Any(d => d != 1) || rows * columns != shape.Aggregate(1L, (a, b) => a * b) || rows != shape[0])
            {
                throw new CheckpointException($"{Path}: Control-LoRA pair for '{name}' is up [{string.Join(", ", up.Shape)}], down [{string.Join(", ", down.Shape)}]; it does not make the weight [{string.Join(", ", shape)}].");
            }
        }

        foreach (var (name, stored) in Full.Where(f => IsEncoderWeight(f.Key)))
        {
            if (!encoder.TryGetValue(name, out var shape) || !shape.SequenceEqual(stored.Shape))
            {
                throw new CheckpointException($"{Path}: Control-LoRA tensor '{stored.Tensor.Name}' is [{string.Join(", ", stored.Shape)}]; the model's UNet has {(shape is null ? "no such weight" : $"[{string.Join(", ", shape)}]")}; it was made for another model.");
            }
        }

        var layout = encoder.Select(e => (e.Key, SafetensorsDType.Float32, e.Value))
            .Concat(Full.Where(f => !IsEncoderWeight(f.Key)).Select(f => (f.Key, SafetensorsDType.Float32, f.Value.Shape)))
            .ToArray();
        SafetensorsWriter.Write(destination, layout, name =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            var values = Full.TryGetValue(name, out var stored) ? stored.ReadFloat32() : readUNet(name);
            if (IsDifference && stored is not null && IsEncoderWeight(name))
            {
                TensorPrimitives.Add(values, readUNet(name), values);
            }

            if (Pairs.TryGetValue(name, out var pair))
            {
                // up·down in float32 (as torch.mm), SIMD rows: a rank-256 SDXL file is ~300 G multiply-adds.
                var rank = (int)pair.Up.Shape[1];
                var rows = (int)pair.Up.Shape[0];
                TensorPrimitives.Add(values, LowRank.Product(pair.Up.ReadFloat32(), pair.Down.ReadFloat32(), rows, rank, values.Length / rows, cancellationToken), values);
            }

            var bytes = new byte[values.Length * 4];
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(bytes);
            return bytes;
        });
    }

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();

    private static bool IsPairKey(string key) => key.EndsWith(".up", StringComparison.Ordinal) || key.EndsWith(".down", StringComparison.Ordinal);

    private static StoredTensor Stored(SafetensorsFile file, string key)
    {
        var tensor = file.Tensors[key];
        return new StoredTensor(file, tensor, tensor.Shape);
    }
}
