using System.Text;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Formats.Torch;

/// <summary>
/// A PyTorch checkpoint as <c>torch.save</c> writes it since 1.6 (a ZIP archive of <c>ROOT/data.pkl</c> and one
/// uncompressed entry per storage under <c>ROOT/data/</c>) or before (the legacy format: five pickles — magic number,
/// protocol, system information, the object, the storage keys — then each storage's element count and bytes), read as a
/// safetensors header: each tensor is a contiguous run of bytes inside a storage, so it is read from the file's memory
/// map like a safetensors tensor. The pickle is
/// read by <see cref="Unpickler"/>, which runs no code. The tensors are those of the dictionary ComfyUI takes from a
/// loaded checkpoint (its <c>state_dict</c> entry, or a lone inner dictionary; for upscalers <c>params_ema</c> or
/// <c>params</c>), nested dictionaries and lists named with dots (<c>string_to_param.*</c>).
/// </summary>
internal static class TorchCheckpoint
{
    private const int MaxDepth = 32;
    private const int MaxValues = 10_000_000;
    private const int MaxRank = 16;
    private const int FirstRead = 1 << 20;
    private const long LegacyProtocol = 1001;
    private static readonly System.Numerics.BigInteger LegacyMagic = System.Numerics.BigInteger.Parse("119547037146038801333356", System.Globalization.CultureInfo.InvariantCulture);

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

    /// <summary>Reads the ZIP archive in <paramref name="stream"/>; throws <see cref="SafetensorsException"/> naming the file (and tensor) when it cannot.</summary>
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

        var storages = zip.Entries.Values.Where(e => e.Name.StartsWith(root + "/data/", StringComparison.Ordinal))
            .ToDictionary(e => e.Name[(root.Length + 6)..], StringComparer.Ordinal);
        var pickle = StoredZip.ReadAt(stream, pickles[0].DataOffset, (int)pickles[0].Size);
        var value = Unpickler.Load(path, "data.pkl", pickle, (id, at) => Storage(path, "data.pkl", id, at, storages.ContainsKey));
        return Build(path, value, storages);
    }

    /// <summary>Reads a legacy (before PyTorch 1.6) checkpoint in <paramref name="stream"/>; throws <see cref="SafetensorsException"/> naming the file (and tensor) when it cannot.</summary>
    public static SafetensorsHeader ReadLegacyHeader(string path, Stream stream, long maxPickleBytes)
    {
        // The pickles' total length is known only by reading them: read the file's start, more while a pickle runs past it.
        var length = stream.Length;
        for (var read = (int)Math.Min(length, FirstRead); ; read = (int)Math.Min(Math.Min(length, maxPickleBytes), (long)read * 4))
        {
            var start = StoredZip.ReadAt(stream, 0, read);
            var complete = read == length;
            try
            {
                return ReadLegacy(path, stream, start, complete);
            }
            catch (Unpickler.NeedsMoreBytes) when (read < Math.Min(length, maxPickleBytes))
            {
            }
            catch (Unpickler.NeedsMoreBytes)
            {
                throw new SafetensorsException(path, null, complete
                    ? "the legacy checkpoint's pickles run past the end of the file; it is truncated."
                    : $"the legacy checkpoint's pickles are longer than the {maxPickleBytes}-byte limit.");
            }
        }
    }

    private static SafetensorsHeader ReadLegacy(string path, Stream stream, byte[] start, bool complete)
    {
        SafetensorsException Bad(string problem) => new(path, null, problem);
        object? NoPersistentIds(object? id, int at) => throw Bad($"a persistent id at byte {at} before the checkpoint's object.");
        var magic = Unpickler.LoadAt(path, "the magic number", start, 0, complete, NoPersistentIds, out var at);
        if (magic is not System.Numerics.BigInteger number || number != LegacyMagic)
        {
            throw Bad("it starts with a pickle but not PyTorch's magic number; it is not a checkpoint saved by torch.save.");
        }

        if (Unpickler.LoadAt(path, "the protocol version", start, at, complete, NoPersistentIds, out at) is not LegacyProtocol)
        {
            throw Bad($"its legacy protocol version is not {LegacyProtocol}, the one torch.save wrote.");
        }

        if (Unpickler.LoadAt(path, "the system information", start, at, complete, NoPersistentIds, out at) is not PickleDict info || info.Get("little_endian") is not true)
        {
            throw Bad("the checkpoint was saved on a big-endian machine (or says nothing of it); only little-endian checkpoints are read.");
        }

        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var value = Unpickler.LoadAt(path, "the checkpoint's pickle", start, at, complete, (id, position) =>
        {
            if (id is object?[] { Length: 6 } fields && fields[5] is not null)
            {
                throw Bad($"the checkpoint's pickle at byte {position}: a storage view (legacy view metadata), which is not read; re-save the file with a current PyTorch.");
            }

            var storage = Storage(path, "the checkpoint's pickle", id, position, _ => true);
            types[storage.Key] = storage.TypeName;
            return storage;
        }, out at);
        if (Unpickler.LoadAt(path, "the storage keys", start, at, complete, NoPersistentIds, out at) is not PickleList keys || keys.Items.Any(k => k is not string))
        {
            throw Bad("the list of storage keys after the checkpoint's object is missing or damaged.");
        }

        // Each storage in the keys' order: its element count (8 bytes, little-endian), then its bytes.
        var storages = new Dictionary<string, StoredZipEntry>(StringComparer.Ordinal);
        long offset = at;
        foreach (var key in keys.Items.Cast<string>())
        {
            if (!types.TryGetValue(key, out var type) || !StorageTypes.TryGetValue(type, out var dtype))
            {
                throw Bad($"storage '{key}' has {(type is null ? "no storage class" : $"the storage class {type}, which is not read")}, so the storages after it cannot be found.");
            }

            if (offset > stream.Length - 8)
            {
                throw Bad($"storage '{key}' starts at byte {offset}, past the end of the {stream.Length}-byte file; it is truncated.");
            }

            var count = BitConverter.ToInt64(StoredZip.ReadAt(stream, offset, 8));
            var size = SafetensorsDTypes.Size(dtype);
            if (count < 0 || count > (stream.Length - offset - 8) / size)
            {
                throw Bad($"storage '{key}' claims {count} elements at byte {offset}, more than the file holds; it is truncated or damaged.");
            }

            storages[key] = new StoredZipEntry(key, offset + 8, count * size);
            offset += 8 + (count * size);
        }

        return Build(path, value, storages);
    }

    private static SafetensorsHeader Build(string path, object? value, IReadOnlyDictionary<string, StoredZipEntry> storages)
    {
        var tensors = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        var budget = MaxValues;
        Collect(path, storages, StateDict(path, value), "", 0, tensors, ref budget);
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

    private static void Collect(string path, IReadOnlyDictionary<string, StoredZipEntry> storages, object? value, string name, int depth, Dictionary<string, SafetensorsTensor> tensors, ref int budget)
    {
        if (--budget < 0 || depth > MaxDepth)
        {
            throw new SafetensorsException(path, name.Length == 0 ? null : name, $"the checkpoint's dictionaries nest deeper than {MaxDepth} levels or hold more than {MaxValues} values.");
        }

        switch (value)
        {
            case TorchTensorView view:
                if (!tensors.TryAdd(name, Tensor(path, storages, name, view)))
                {
                    throw new SafetensorsException(path, name, "two entries of the checkpoint's dictionaries give this name.");
                }

                break;
            case PickleDict dict:
                foreach (var (key, inner) in dict.Items)
                {
                    if (key is string or long)
                    {
                        Collect(path, storages, inner, name.Length == 0 ? $"{key}" : $"{name}.{key}", depth + 1, tensors, ref budget);
                    }
                }

                break;
            case PickleList list:
                for (var i = 0; i < list.Items.Count; i++)
                {
                    Collect(path, storages, list.Items[i], name.Length == 0 ? $"{i}" : $"{name}.{i}", depth + 1, tensors, ref budget);
                }

                break;
            case PickleCall call when Unpickler.IsUnreadTensorRebuild(call.Callable):
                throw new SafetensorsException(path, name, $"a tensor rebuilt by {((PickleGlobal)call.Callable!).FullName} (quantized, sparse or on another device's format) is not read.");
        }
    }

    private static SafetensorsTensor Tensor(string path, IReadOnlyDictionary<string, StoredZipEntry> storages, string name, TorchTensorView view)
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
        if (!storages.TryGetValue(view.Storage.Key, out var entry))
        {
            throw Bad($"its storage '{view.Storage.Key}' has no data in the file; it is damaged.");
        }

        if (count > 0 && (view.StorageOffset > view.Storage.ElementCount - count || view.StorageOffset + count > entry.Size / size))
        {
            throw Bad($"its {count} elements from offset {view.StorageOffset} run past its storage '{view.Storage.Key}' ({entry.Size} bytes); the file is damaged.");
        }

        return new SafetensorsTensor(name, dtype, view.Shape, count == 0 ? entry.DataOffset : entry.DataOffset + (view.StorageOffset * size), count * size);
    }

    // A persistent id ('storage', storage class, key, location, element count[, legacy view metadata]) names a storage.
    private static TorchStorage Storage(string path, string what, object? id, int at, Func<string, bool> exists)
    {
        if (id is not object?[] { Length: >= 5 } fields || fields[0] is not "storage" || fields[1] is not PickleGlobal type || fields[2] is not string key
            || fields[4] is not long count || count < 0)
        {
            throw new SafetensorsException(path, null, $"{what} at byte {at}: a persistent id that is not a storage ('storage', class, key, location, size).");
        }

        if (!exists(key))
        {
            throw new SafetensorsException(path, null, $"{what} at byte {at}: storage '{key}' has no entry in the archive; the file is damaged.");
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
