using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Unicode;

namespace FlowDiffusion.Formats.Safetensors;

/// <summary>
/// A safetensors file's header (8-byte little-endian length, then that many bytes of JSON), parsed and checked against
/// the file's length before any tensor is touched: every offset inside the data, every shape's byte count equal to its
/// offsets' span (with overflow-checked arithmetic), no two tensors overlapping.
/// </summary>
public sealed class SafetensorsHeader
{
    /// <summary>The default limit on the JSON header's size (the reference implementation's, 100 MB).</summary>
    public const long DefaultMaxHeaderBytes = 100_000_000;

    private const int MaxRank = 16;
    private const string MetadataKey = "__metadata__";

    private SafetensorsHeader(long dataStart, IReadOnlyDictionary<string, SafetensorsTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        DataStart = dataStart;
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>Where the data section starts (8 plus the header length).</summary>
    public long DataStart { get; }

    /// <summary>Every tensor by name, in the header's order.</summary>
    public IReadOnlyDictionary<string, SafetensorsTensor> Tensors { get; }

    /// <summary>The free-form <c>__metadata__</c> strings (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>
    /// Parses the header from the first bytes of a file of <paramref name="fileLength"/> bytes; <paramref name="fileStart"/>
    /// must hold at least the header (8 bytes plus its stated length) when the file has that many.
    /// Throws <see cref="SafetensorsException"/> naming <paramref name="filePath"/> for anything that is not a well-formed file.
    /// </summary>
    public static SafetensorsHeader Parse(string filePath, ReadOnlySpan<byte> fileStart, long fileLength, long maxHeaderBytes = DefaultMaxHeaderBytes)
    {
        RejectOtherFormats(filePath, fileStart);
        if (fileLength < 8 || fileStart.Length < 8)
        {
            throw new SafetensorsException(filePath, null, $"the file is {fileLength} bytes, too short to be a safetensors file (it is truncated or not one).");
        }

        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(fileStart);
        if (headerLength > (ulong)maxHeaderBytes)
        {
            throw new SafetensorsException(filePath, null, $"the header claims {headerLength} bytes, more than the {maxHeaderBytes}-byte limit; the file is damaged or not safetensors.");
        }

        if ((long)headerLength > fileLength - 8 || (long)headerLength > fileStart.Length - 8)
        {
            throw new SafetensorsException(filePath, null, $"the header claims {headerLength} bytes but the file has only {fileLength - 8} after the length field; the file is truncated.");
        }

        var dataStart = 8 + (long)headerLength;
        var json = fileStart.Slice(8, (int)headerLength);
        if (!Utf8.IsValid(json))
        {
            throw new SafetensorsException(filePath, null, "the header is not UTF-8 text; the file is damaged or not safetensors.");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 4 });
        }
        catch (JsonException e)
        {
            throw new SafetensorsException(filePath, null, $"the header is not valid JSON ({e.Message}).", e);
        }

        using (document)
        {
            return FromJson(filePath, document.RootElement, dataStart, fileLength - dataStart);
        }
    }

    /// <summary>A header for tensors found another way (a PyTorch checkpoint's storages), whose offsets are from the start of the file.</summary>
    internal static SafetensorsHeader FromTensors(IReadOnlyDictionary<string, SafetensorsTensor> tensors) =>
        new(0, tensors, new Dictionary<string, string>(StringComparer.Ordinal));

    private static SafetensorsHeader FromJson(string filePath, JsonElement root, long dataStart, long dataLength)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new SafetensorsException(filePath, null, $"the header is a JSON {root.ValueKind}, not an object.");
        }

        var tensors = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var seenMetadata = false;
        foreach (var property in root.EnumerateObject())
        {
            if (property.Name == MetadataKey)
            {
                if (seenMetadata)
                {
                    throw new SafetensorsException(filePath, null, "the header has two __metadata__ entries.");
                }

                seenMetadata = true;
                ReadMetadata(filePath, property.Value, metadata);
                continue;
            }

            if (tensors.ContainsKey(property.Name))
            {
                throw new SafetensorsException(filePath, property.Name, "the header names this tensor twice.");
            }

            tensors.Add(property.Name, ReadTensor(filePath, property.Name, property.Value, dataStart, dataLength));
        }

        RejectOverlaps(filePath, tensors.Values);
        return new SafetensorsHeader(dataStart, tensors, metadata);
    }

    private static void ReadMetadata(string filePath, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new SafetensorsException(filePath, null, "__metadata__ is not an object of strings.");
        }

        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw new SafetensorsException(filePath, null, $"__metadata__ entry '{entry.Name}' is not a string.");
            }

            metadata[entry.Name] = entry.Value.GetString()!;
        }
    }

    private static SafetensorsTensor ReadTensor(string filePath, string name, JsonElement entry, long dataStart, long dataLength)
    {
        SafetensorsException Bad(string problem) => new(filePath, name, problem);
        if (entry.ValueKind != JsonValueKind.Object)
        {
            throw Bad("its header entry is not an object.");
        }

        if (!entry.TryGetProperty("dtype", out var dtypeValue) || dtypeValue.ValueKind != JsonValueKind.String)
        {
            throw Bad("its header entry has no dtype string.");
        }

        var dtypeName = dtypeValue.GetString()!;
        if (!SafetensorsDTypes.TryParse(dtypeName, out var dtype))
        {
            throw Bad($"unknown dtype '{dtypeName}'.");
        }

        if (!entry.TryGetProperty("shape", out var shapeValue) || shapeValue.ValueKind != JsonValueKind.Array)
        {
            throw Bad("its header entry has no shape array.");
        }

        if (shapeValue.GetArrayLength() > MaxRank)
        {
            throw Bad($"its shape has {shapeValue.GetArrayLength()} dimensions, more than {MaxRank}.");
        }

        var shape = new long[shapeValue.GetArrayLength()];
        var i = 0;
        foreach (var dim in shapeValue.EnumerateArray())
        {
            shape[i++] = NonNegative(dim, () => Bad($"shape dimension {i} is not a non-negative integer."));
        }

        if (!entry.TryGetProperty("data_offsets", out var offsetsValue) || offsetsValue.ValueKind != JsonValueKind.Array || offsetsValue.GetArrayLength() != 2)
        {
            throw Bad("its header entry has no data_offsets pair.");
        }

        var begin = NonNegative(offsetsValue[0], () => Bad("data_offsets[0] is not a non-negative integer."));
        var end = NonNegative(offsetsValue[1], () => Bad("data_offsets[1] is not a non-negative integer."));
        if (begin > end || end > dataLength)
        {
            throw Bad($"data_offsets [{begin},{end}] lie outside the {dataLength}-byte data section; the file is truncated or damaged.");
        }

        long expected;
        try
        {
            expected = checked(shape.Aggregate(1L, (a, d) => a * d) * SafetensorsDTypes.Size(dtype));
        }
        catch (OverflowException)
        {
            throw Bad($"shape [{string.Join(",", shape)}] is too large to address.");
        }

        if (expected != end - begin)
        {
            throw Bad($"shape [{string.Join(",", shape)}] of {dtypeName} needs {expected} bytes but data_offsets span {end - begin}.");
        }

        return new SafetensorsTensor(name, dtype, shape, dataStart + begin, end - begin);
    }

    private static long NonNegative(JsonElement value, Func<SafetensorsException> error) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) && n >= 0 ? n : throw error();

    private static void RejectOverlaps(string filePath, IEnumerable<SafetensorsTensor> tensors)
    {
        SafetensorsTensor? previous = null;
        foreach (var tensor in tensors.Where(t => t.ByteLength > 0).OrderBy(t => t.Offset))
        {
            if (previous is not null && tensor.Offset < previous.Offset + previous.ByteLength)
            {
                throw new SafetensorsException(filePath, tensor.Name, $"its data overlaps tensor '{previous.Name}'.");
            }

            previous = tensor;
        }
    }

    /// <summary>
    /// Whether a file starting with <paramref name="start"/> is a bare pickle stream (PyTorch's legacy format): PROTO
    /// (0x80, version 2–5). A safetensors header of 0x280…0x580 bytes starts the same way; its JSON opening at byte 8
    /// tells it apart.
    /// </summary>
    public static bool StartsLikePickle(ReadOnlySpan<byte> start) =>
        start.Length >= 2 && start[0] == 0x80 && start[1] is >= 2 and <= 5 && !(start.Length > 8 && start[8] == (byte)'{');

    private static void RejectOtherFormats(string filePath, ReadOnlySpan<byte> start)
    {
        if (start.StartsWith("version https://git-lfs"u8))
        {
            throw new SafetensorsException(filePath, null, "this is a Git LFS pointer, not the weights: run `git lfs pull` (or download the file itself).");
        }

        if (StartsLikePickle(start) || start.StartsWith("PK\u0003\u0004"u8))
        {
            throw new SafetensorsException(filePath, null, "this is a PyTorch checkpoint, not a safetensors file; SafetensorsFile.Open reads both.");
        }
    }
}
