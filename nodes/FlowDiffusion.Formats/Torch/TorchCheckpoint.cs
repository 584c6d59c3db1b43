using System.Text;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Formats.Torch;

/// <summary>
/// A PyTorch checkpoint as <c>torch.save</c> writes it since 1.6 (a ZIP archive of <c>ROOT/data.pkl</c> and one
/// uncompressed entry per storage under <c>ROOT/data/</c>), read as a safetensors header: each tensor is a contiguous run
/// of bytes inside a storage entry, so it is read from the file's memory map like a safetensors tensor. The pickle is
/// read by <see cref="Unpickler"/>, which runs no code. The tensors are those of the dictionary ComfyUI takes from a
/// loaded checkpoint (its <c>state_dict</c> entry, or a lone inner dictionary; for upscalers <c>params_ema</c> or
/// <c>params</c>), nested dictionaries and lists named with dots (<c>string_to_param.*</c>).
/// </summary>
internal static class TorchCheckpoint
{
    private const int MaxDepth = 32;
    private const int MaxValues = 10_000_000;
    private const int MaxRank = 16;

    // torch's storage classes (what a persistent id names) and the element type each holds.
    private static readonly Dictionary<string, SafetensorsDType> StorageTypes = new(StringComparer.Ordinal)
    {
        ["torch.FloatStorage"] = SafetensorsDType.Float32,
        ["torch.HalfStorage"] = SafetensorsDType.Float16,
        ["torch.BFloat16Storage"] = SafetensorsDType.BFloat16,
        ["torch.DoubleStorage"] = SafetensorsDType.Float64,
        ["torch.LongStorage"] = SafetensorsDType.Int64,
        ["torch.IntStorage"] = SafetensorsDType.Int32,
        ["torch.ShortStorage"] = SafetensorsDType.Int16,
        ["torch.CharStorage"] = SafetensorsDType.Int8,
        ["torch.ByteStorage"] = SafetensorsDType.UInt8,
        ["torch.BoolStorage"] = SafetensorsDType.Bool,
        ["torch.Float8_e4m3fnStorage"] = SafetensorsDType.Float8E4M3,
        ["torch.Float8_e5m2Storage"] = SafetensorsDType.Float8E5M2,
    };

    /// <summary>Reads the archive in <paramref name="stream"/>; throws <see cref="SafetensorsException"/> naming the file (and tensor) when it cannot.</summary>
    public static SafetensorsHeader ReadHeader(string path, Stream stream, long maxPickleBytes)
    {
        var zip = StoredZip.Read(path, stream);
        var pickles = zip.Entries.Values.Where(e => e.Name.EndsWith("/data.pkl", StringComparison.Ordinal) && e.Name.IndexOf('/') == e.Name.Length - 9).ToList();
        if (pickles.Count != 1)
        {
            throw new SafetensorsException(path, null, pickles.Count == 0
                ? "a ZIP archive without a data.pkl entry, so not a checkpoint saved by torch.save."
                : "a ZIP archive with more than one data.pkl; not a checkpoint saved by torch.save.");
        }

        var root = pickles[0].Name[..^"/data.pkl".Length];
        if (zip.Entries.TryGetValue(root + "/byteorder", out var order) && order.Size <= 16
            && Encoding.ASCII.GetString(StoredZip.ReadAt(stream, order.DataOffset, (int)order.Size)).Trim() != "little")
        {
            throw new SafetensorsException(path, null, "the checkpoint was saved on a big-endian machine; only little-endian checkpoints are read.");
        }

        if (pickles[0].Size > maxPickleBytes)
        {
            throw new SafetensorsException(path, null, $"its data.pkl is {pickles[0].Size} bytes, more than the {maxPickleBytes}-byte limit.");
        }

        var pickle = StoredZip.ReadAt(stream, pickles[0].DataOffset, (int)pickles[0].Size);
        var value = Unpickler.Load(path, "data.pkl", pickle, (id, at) => Storage(path, zip, root, id, at));
        var tensors = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        var budget = MaxValues;
        Collect(path, zip, root, StateDict(path, value), "", 0, tensors, ref budget);
        return SafetensorsHeader.FromTensors(tensors);
    }

    // ComfyUI's load_torch_file: the state_dict entry, or the dictionary inside a one-entry dictionary; spandrel's
    // params_ema/params for upscalers (Real-ESRGAN's files).
    private static PickleDict StateDict(string path, object? value)
    {
        if (value is not PickleDict top)
        {
            throw new SafetensorsException(path, null, $"the checkpoint holds {Describe(value)}, not a dictionary of tensors.");
        }

        foreach (var key in (string[])["state_dict", "params_ema", "params"])
        {
            if (top.Get(key) is PickleDict inner)
            {
                return inner;
            }
        }

        return top.Items.Count == 1 && top.Items[0].Value is PickleDict only ? only : top;
    }

    private static void Collect(string path, StoredZip zip, string root, object? value, string name, int depth, Dictionary<string, SafetensorsTensor> tensors, ref int budget)
    {
        if (--budget < 0 || depth > MaxDepth)
        {
            throw new SafetensorsException(path, name.Length == 0 ? null : name, $"the checkpoint's dictionaries nest deeper than {MaxDepth} levels or hold more than {MaxValues} values.");
        }

        switch (value)
        {
            case TorchTensorView view:
                if (!tensors.TryAdd(name, Tensor(path, zip, root, name, view)))
                {
                    throw new SafetensorsException(path, name, "two entries of the checkpoint's dictionaries give this name.");
                }

                break;
            case PickleDict dict:
                foreach (var (key, inner) in dict.Items)
                {
                    if (key is string or long)
                    {
                        Collect(path, zip, root, inner, name.Length == 0 ? $"{key}" : $"{name}.{key}", depth + 1, tensors, ref budget);
                    }
                }

                break;
            case PickleList list:
                for (var i = 0; i < list.Items.Count; i++)
                {
                    Collect(path, zip, root, list.Items[i], name.Length == 0 ? $"{i}" : $"{name}.{i}", depth + 1, tensors, ref budget);
                }

                break;
            case PickleCall call when Unpickler.IsUnreadTensorRebuild(call.Callable):
                throw new SafetensorsException(path, name, $"a tensor rebuilt by {((PickleGlobal)call.Callable!).FullName} (quantized, sparse or on another device's format) is not read.");
        }
    }

    private static SafetensorsTensor Tensor(string path, StoredZip zip, string root, string name, TorchTensorView view)
    {
        SafetensorsException Bad(string problem) => new(path, name, problem);
        if (!StorageTypes.TryGetValue(view.Storage.TypeName, out var dtype))
        {
            throw Bad($"its storage type {view.Storage.TypeName} is not read (floating-point, integer and bool storages are).");
        }

        if (view.Shape.Length > MaxRank || view.Shape.Any(d => d < 0) || view.StorageOffset < 0)
        {
            throw Bad($"its size [{string.Join(",", view.Shape)}] or storage offset {view.StorageOffset} is not a tensor's.");
        }

        long count;
        long expected = 1;
        try
        {
            count = checked(view.Shape.Aggregate(1L, (a, d) => a * d));
            for (var d = view.Shape.Length - 1; d >= 0; d--)
            {
                if (view.Shape[d] > 1 && view.Stride[d] != expected)
                {
                    throw Bad($"it is not stored contiguously (size [{string.Join(",", view.Shape)}], stride [{string.Join(",", view.Stride)}]); re-save it with .contiguous().");
                }

                expected = checked(expected * view.Shape[d]);
            }
        }
        catch (OverflowException)
        {
            throw Bad($"its size [{string.Join(",", view.Shape)}] is too large to address.");
        }

        var size = SafetensorsDTypes.Size(dtype);
        var entry = zip.Entries[$"{root}/data/{view.Storage.Key}"];
        if (count > 0 && (view.StorageOffset > view.Storage.ElementCount - count || view.StorageOffset + count > entry.Size / size))
        {
            throw Bad($"its {count} elements from offset {view.StorageOffset} run past its storage '{view.Storage.Key}' ({entry.Size} bytes); the file is damaged.");
        }

        return new SafetensorsTensor(name, dtype, view.Shape, count == 0 ? entry.DataOffset : entry.DataOffset + (view.StorageOffset * size), count * size);
    }

    // A persistent id ('storage', storage class, key, location, element count) names an entry under ROOT/data/.
    private static object? Storage(string path, StoredZip zip, string root, object? id, int at)
    {
        if (id is not object?[] { Length: >= 5 } fields || fields[0] is not "storage" || fields[1] is not PickleGlobal type || fields[2] is not string key
            || fields[4] is not long count || count < 0)
        {
            throw new SafetensorsException(path, null, $"data.pkl at byte {at}: a persistent id that is not a storage ('storage', class, key, location, size).");
        }

        if (!zip.Entries.ContainsKey($"{root}/data/{key}"))
        {
            throw new SafetensorsException(path, null, $"data.pkl at byte {at}: storage '{key}' has no entry {root}/data/{key} in the archive; the file is damaged.");
        }

        return new TorchStorage(type.FullName, key, count);
    }

    private static string Describe(object? value) => value switch
    {
        null => "None",
        PickleCall call => call.Describe(),
        TorchTensorView => "a single tensor",
        PickleList => "a list",
        _ => $"a {value.GetType().Name}",
    };
}
