using System.Buffers.Binary;
using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text;
using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// Writes an fp16 ONNX model as float32, losslessly (every float16 value is exactly a float32): float16 initializers
/// become float32, graph inputs, outputs and value_info of element type FLOAT16 become FLOAT, <c>Cast</c> nodes to FLOAT16
/// cast to FLOAT (and random/eye operators' <c>dtype</c> likewise), and tensor attributes (<c>Constant</c>,
/// <c>ConstantOfShape</c>) holding float16 hold float32, in subgraphs and model-local functions too. ONNX Runtime's CPU provider lacks float16
/// kernels for most operators and wraps them in casts, so the float32 model runs faster there (issue 17).
/// </summary>
/// <remarks>
/// The file is rewritten as a protobuf stream: only the messages that change are parsed, every other field is copied
/// byte for byte. Converted initializers larger than <see cref="InlineLimit"/> and every initializer the source keeps
/// in external data go to one data file beside the new model (<see cref="DataName"/>, each tensor at a 4 KiB-aligned
/// offset), so the result may exceed protobuf's 2 GB limit; each is converted in 64 KiB chunks. What stays in memory
/// is the rewritten graph without those tensors' data: the structure and the small or non-float16 inline tensors,
/// never more than the source model file (which protobuf limits to 2 GB).
/// </remarks>
internal static class Float32Upcast
{
    /// <summary>The upcast model's file name.</summary>
    public const string ModelName = "model.onnx";

    /// <summary>The upcast model's external data file name.</summary>
    public const string DataName = "model.onnx.data";

    /// <summary>Converted initializers with more bytes than this go to the data file.</summary>
    public const int InlineLimit = 1024;

    /// <summary>The environment variable that turns the upcast off: <c>keep</c> (or <c>off</c>) runs fp16 models as they are.</summary>
    public const string Variable = "FLOWDIFFUSION_CPU_FLOAT16";

    private const int Float16 = 10;
    private const int Float = 1;
    private const int Alignment = 4096;
    private const int ChunkElements = 1 << 15;

    private static readonly HashSet<string> DtypeOperators = new(StringComparer.Ordinal)
    {
        "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "EyeLike",
    };

    /// <summary>Whether the environment leaves the upcast on (the default).</summary>
    public static bool EnabledByEnvironment =>
        Environment.GetEnvironmentVariable(Variable)?.Trim().ToLowerInvariant() is not ("keep" or "off" or "0" or "false");

    /// <summary>Whether <paramref name="file"/> holds float16 weights.</summary>
    public static bool HasFloat16Weights(OnnxModelFile file) => file.Initializers.Any(i => i.DataType == Float16);

    /// <summary>Whether a session for <paramref name="source"/> runs the upcast model: CPU provider, the option on, float16 weights.</summary>
    public static bool Applies(OnnxModelSource source, OnnxModelFile file) =>
        source.Options.UpcastFloat16
        && string.Equals(ExecutionProviders.Normalize(source.Options.Provider), "cpu", StringComparison.Ordinal)
        && HasFloat16Weights(file);

    /// <summary>The bytes the upcast model's weights take: the source's plus two per float16 weight element.</summary>
    public static long UpcastWeightsBytes(OnnxModelFile file) =>
        file.WeightsBytes + file.Initializers.Where(i => i.DataType == Float16).Sum(i => i.ElementCount * 2);

    /// <summary>
    /// Writes the float32 form of <paramref name="file"/> into <paramref name="folder"/> (created if missing) as
    /// <see cref="ModelName"/> and <see cref="DataName"/>, and returns the model's path.
    /// </summary>
    /// <exception cref="InvalidDataException">The source is not a well-formed ONNX model; the message names the file and the tensor.</exception>
    public static string Write(OnnxModelFile file, string folder, CancellationToken cancellationToken = default) =>
        Rewrite(file, folder, convert: true, overrides: null, cancellationToken);

    /// <summary>
    /// Writes <paramref name="file"/> into <paramref name="folder"/> as it is, but with the initializers named in
    /// <paramref name="overrides"/> holding those values (their own type and shape), every overridden or external
    /// initializer in the data file: the form weight overrides take when, written inline, they would pass protobuf's 2 GB
    /// limit (<see cref="OverriddenModel"/>). Nothing else is converted.
    /// </summary>
    /// <exception cref="InvalidDataException">The source is not a well-formed ONNX model; the message names the file and the tensor.</exception>
    public static string WriteOverridden(OnnxModelFile file, string folder, IReadOnlyDictionary<string, WeightTensor> overrides, CancellationToken cancellationToken = default) =>
        WriteOverridden(file, folder, name => overrides.GetValueOrDefault(name), cancellationToken);

    /// <summary>
    /// As <see cref="WriteOverridden(OnnxModelFile, string, IReadOnlyDictionary{string, WeightTensor}, CancellationToken)"/>,
    /// each initializer's new value asked of <paramref name="valueOf"/> (null: unchanged) when the copy reaches it, so only
    /// one is held at a time.
    /// </summary>
    public static string WriteOverridden(OnnxModelFile file, string folder, Func<string, WeightTensor?> valueOf, CancellationToken cancellationToken = default) =>
        Rewrite(file, folder, convert: false, valueOf, cancellationToken);

    private static string Rewrite(OnnxModelFile file, string folder, bool convert, Func<string, WeightTensor?>? overrides, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        var modelPath = Path.Combine(folder, ModelName);
        var dataPath = Path.Combine(folder, DataName);
        using var source = new FileStream(file.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        using var data = new FileStream(dataPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        using var model = new FileStream(modelPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        var rewriter = new Rewriter(file, source, data, convert, overrides, cancellationToken);
        rewriter.Model(model);
        return modelPath;
    }

    // convert: float16 becomes float32 (the upcast); without it types are kept and only the initializers move or change.
    private sealed class Rewriter(
        OnnxModelFile file, FileStream source, FileStream data, bool convert,
        Func<string, WeightTensor?>? overrides, CancellationToken cancellationToken)
    {
        private readonly ProtobufReader _reader = new(source, file.Path);

        public void Model(Stream output)
        {
            var end = source.Length;
            var sawGraph = false;
            while (true)
            {
                var start = source.Position;
                if (!_reader.Next(end, out var field, out var wire))
                {
                    break;
                }
                if (field == 7 && wire == ProtobufReader.LengthDelimited)
                {
                    sawGraph = true;
                    var stop = _reader.ReadLength(end);
                    WriteMessage(output, 7, body => Graph(body, stop, external: true));
                }
                else if (field == 25 && wire == ProtobufReader.LengthDelimited && convert)
                {
                    var stop = _reader.ReadLength(end);
                    WriteMessage(output, 25, body => Function(body, stop));
                }
                else
                {
                    _reader.Skip(wire, end);
                    Copy(output, start, source.Position);
                }
            }
            if (!sawGraph)
            {
                throw _reader.Malformed("no graph");
            }
        }

        private void Graph(Stream output, long end, bool external)
        {
            while (true)
            {
                var start = source.Position;
                if (!_reader.Next(end, out var field, out var wire))
                {
                    return;
                }
                if (wire != ProtobufReader.LengthDelimited || (!convert && field != 5))
                {
                    _reader.Skip(wire, end);
                    Copy(output, start, source.Position);
                    continue;
                }
                var stop = _reader.ReadLength(end);
                switch (field)
                {
                    case 1:
                        WriteMessage(output, field, body => Node(body, stop));
                        break;
                    case 5:
                        cancellationToken.ThrowIfCancellationRequested();
                        Tensor(output, field, start, stop, external);
                        break;
                    case 11 or 12 or 13:
                        WriteMessage(output, field, body => ValueInfo(body, stop));
                        break;
                    default:
                        source.Position = stop;
                        Copy(output, start, stop);
                        break;
                }
            }
        }

        // A model-local function (FunctionProto): its nodes (7) and value_info (12) are rewritten like a graph's.
        private void Function(Stream output, long end)
        {
            while (true)
            {
                var start = source.Position;
                if (!_reader.Next(end, out var field, out var wire))
                {
                    return;
                }
                if (wire == ProtobufReader.LengthDelimited && field is 7 or 12)
                {
                    var stop = _reader.ReadLength(end);
                    WriteMessage(output, field, body =>
                    {
                        if (field == 7) Node(body, stop);
                        else ValueInfo(body, stop);
                    });
                }
                else
                {
                    _reader.Skip(wire, end);
                    Copy(output, start, source.Position);
                }
            }
        }

        private void Node(Stream output, long end)
        {
            // The operator decides what an attribute means, and protobuf does not promise it comes first.
            var begin = source.Position;
            string op = string.Empty, domain = string.Empty;
            while (_reader.Next(end, out var field, out var wire))
            {
                if (field == 4 && wire == ProtobufReader.LengthDelimited) op = _reader.ReadString(end);
                else if (field == 7 && wire == ProtobufReader.LengthDelimited) domain = _reader.ReadString(end);
                else _reader.Skip(wire, end);
            }
            var standard = domain is "" or "ai.onnx";
            source.Position = begin;
            while (true)
            {
                var start = source.Position;
                if (!_reader.Next(end, out var field, out var wire))
                {
                    return;
                }
                if (field == 5 && wire == ProtobufReader.LengthDelimited)
                {
                    var stop = _reader.ReadLength(end);
                    WriteMessage(output, 5, body => Attribute(body, stop, standard ? op : null));
                }
                else
                {
                    _reader.Skip(wire, end);
                    Copy(output, start, source.Position);
                }
            }
        }

        private void Attribute(Stream output, long end, string? op)
        {
            var begin = source.Position;
            var name = string.Empty;
            while (_reader.Next(end, out var field, out var wire))
            {
                if (field == 1 && wire == ProtobufReader.LengthDelimited) name = _reader.ReadString(end);
                else _reader.Skip(wire, end);
            }
            var typeAttribute = (op == "Cast" && name == "to") || (op is not null && DtypeOperators.Contains(op) && name == "dtype");
            source.Position = begin;
            while (true)
            {
                var start = source.Position;
                if (!_reader.Next(end, out var field, out var wire))
                {
                    return;
                }
                if (field == 3 && wire == ProtobufReader.Varint && typeAttribute)
                {
                    var value = _reader.ReadVarint();
                    WriteVarintField(output, 3, value == Float16 ? Float : value);
                }
                else if (field is 5 or 10 && wire == ProtobufReader.LengthDelimited)
                {
                    Tensor(output, field, start, _reader.ReadLength(end), external: false);
                }
                else if (field is 6 or 11 && wire == ProtobufReader.LengthDelimited)
                {
                    var stop = _reader.ReadLength(end);
                    WriteMessage(output, field, body => Graph(body, stop, external: false));
                }
                else
                {
                    _reader.Skip(wire, end);
                    Copy(output, start, source.Position);
                }
            }
        }

        private void ValueInfo(Stream output, long end)
        {
            while (true)
            {
                var start = source.Position;
                if (!_reader.Next(end, out var field, out var wire))
                {
                    return;
                }
                if (field == 2 && wire == ProtobufReader.LengthDelimited)
                {
                    var stop = _reader.ReadLength(end);
                    WriteMessage(output, 2, body => Type(body, stop));
                }
                else
                {
                    _reader.Skip(wire, end);
                    Copy(output, start, source.Position);
                }
            }
        }

        // TypeProto: tensor_type (1) and sparse_tensor_type (8) hold elem_type (1); sequence (4), map (5, value 2) and
        // optional (9) hold further TypeProtos.
        private void Type(Stream output, long end)
        {
            while (true)
            {
                var start = source.Position;
                if (!_reader.Next(end, out var field, out var wire))
                {
                    return;
                }
                if (wire == ProtobufReader.LengthDelimited && field is 1 or 8 or 4 or 5 or 9)
                {
                    var stop = _reader.ReadLength(end);
                    WriteMessage(output, field, body => TypeMember(body, stop, field));
                }
                else
                {
                    _reader.Skip(wire, end);
                    Copy(output, start, source.Position);
                }
            }
        }

        private void TypeMember(Stream output, long end, int kind)
        {
            while (true)
            {
                var start = source.Position;
                if (!_reader.Next(end, out var field, out var wire))
                {
                    return;
                }
                if (kind is 1 or 8 && field == 1 && wire == ProtobufReader.Varint)
                {
                    var elementType = _reader.ReadVarint();
                    WriteVarintField(output, 1, elementType == Float16 ? Float : elementType);
                }
                else if (wire == ProtobufReader.LengthDelimited && ((kind is 4 or 9 && field == 1) || (kind == 5 && field == 2)))
                {
                    var stop = _reader.ReadLength(end);
                    WriteMessage(output, field, body => Type(body, stop));
                }
                else
                {
                    _reader.Skip(wire, end);
                    Copy(output, start, source.Position);
                }
            }
        }

        // A TensorProto from key at `start` to `end` (the reader stands at its body): float16 ones are converted, ones in
        // external data moved into the new data file (its location is relative to the new model), the rest copied.
        private void Tensor(Stream output, int key, long start, long end, bool external)
        {
            var body = source.Position;
            var dims = new List<long>();
            var dataType = 0;
            var name = string.Empty;
            long rawAt = -1, rawLength = 0;
            var int32Data = false;
            var externalData = new Dictionary<string, string>(StringComparer.Ordinal);
            var location = 0UL;
            while (_reader.Next(end, out var field, out var wire))
            {
                switch (field, wire)
                {
                    case (1, ProtobufReader.Varint):
                        dims.Add((long)_reader.ReadVarint());
                        break;
                    case (1, ProtobufReader.LengthDelimited):
                        var dimsEnd = _reader.ReadLength(end);
                        while (source.Position < dimsEnd) dims.Add((long)_reader.ReadVarint());
                        break;
                    case (2, ProtobufReader.Varint):
                        dataType = (int)_reader.ReadVarint();
                        break;
                    case (8, ProtobufReader.LengthDelimited):
                        name = _reader.ReadString(end);
                        break;
                    case (9, ProtobufReader.LengthDelimited):
                        var rawEnd = _reader.ReadLength(end);
                        (rawAt, rawLength) = (source.Position, rawEnd - source.Position);
                        source.Position = rawEnd;
                        break;
                    case (5, _):
                        int32Data = true;
                        _reader.Skip(wire, end);
                        break;
                    case (13, ProtobufReader.LengthDelimited):
                        var entryEnd = _reader.ReadLength(end);
                        string entryKey = string.Empty, entryValue = string.Empty;
                        while (_reader.Next(entryEnd, out var f, out var w))
                        {
                            if (f == 1 && w == ProtobufReader.LengthDelimited) entryKey = _reader.ReadString(entryEnd);
                            else if (f == 2 && w == ProtobufReader.LengthDelimited) entryValue = _reader.ReadString(entryEnd);
                            else _reader.Skip(w, entryEnd);
                        }
                        externalData[entryKey] = entryValue;
                        break;
                    case (14, ProtobufReader.Varint):
                        location = _reader.ReadVarint();
                        break;
                    default:
                        _reader.Skip(wire, end);
                        break;
                }
            }
            var isExternal = location == 1;
            if (external && overrides?.Invoke(name) is { } value)
            {
                Override(output, key, body, end, value);
                return;
            }
            var converting = convert && dataType == Float16;
            if (!converting && !isExternal)
            {
                Copy(output, start, end);
                source.Position = end;
                return;
            }
            var count = dims.Aggregate(1L, (a, d) => d < 0 ? throw Malformed(name, $"dimension {d}") : checked(a * d));
            var elementSize = converting ? 2 : 0;

            // What the new tensor's data is read from: (file, offset, bytes) for raw bytes; int32_data is decoded here.
            string dataFile = file.Path;
            long dataOffset = rawAt, dataLength = rawLength;
            if (isExternal)
            {
                (dataFile, dataOffset, dataLength) = ExternalSource(name, externalData);
            }
            ushort[]? halves = null;
            if (converting)
            {
                if (int32Data && !isExternal)
                {
                    source.Position = body;
                    halves = ReadInt32Halves(name, end, count);
                }
                else if (dataLength != count * elementSize)
                {
                    throw Malformed(name, $"float16 [{string.Join(", ", dims)}] needs {count * 2} bytes, the tensor holds {dataLength}");
                }
            }

            var outputBytes = converting ? count * 4 : dataLength;
            var toData = isExternal || (external && outputBytes > InlineLimit);
            using var tensor = new MemoryStream();
            // Copied as they are: dims, name, doc_string, segment and metadata; the type and data are written below.
            CopyFields(tensor, body, end, field => field is not (2 or 4 or 5 or 6 or 7 or 9 or 10 or 11 or 13 or 14) || (!converting && field is 4 or 6 or 7 or 10 or 11));
            WriteVarintField(tensor, 2, converting ? (ulong)Float : (ulong)dataType);
            if (toData)
            {
                var offset = AlignData();
                if (halves is not null) WriteFloats(data, halves);
                else if (converting) ConvertRange(dataFile, dataOffset, count, data);
                else CopyRange(dataFile, dataOffset, dataLength, data);
                WriteExternalData(tensor, offset, outputBytes);
            }
            else
            {
                WriteKey(tensor, 9, ProtobufReader.LengthDelimited);
                WriteVarint(tensor, (ulong)outputBytes);
                if (halves is not null) WriteFloats(tensor, halves);
                else ConvertRange(dataFile, dataOffset, count, tensor);
            }
            source.Position = end;
            WriteTensor(output, key, tensor);
        }

        // An overridden initializer: its name, doc_string and metadata kept, its shape, type and data the override's, the
        // data in the data file.
        private void Override(Stream output, int key, long body, long end, WeightTensor value)
        {
            using var tensor = new MemoryStream();
            CopyFields(tensor, body, end, field => field is not (1 or 2 or 4 or 5 or 6 or 7 or 9 or 10 or 11 or 13 or 14));
            foreach (var dim in value.Shape)
            {
                WriteVarintField(tensor, 1, (ulong)dim);
            }
            WriteVarintField(tensor, 2, value.ElementType switch
            {
                WeightElementType.Float32 => (ulong)Float,
                WeightElementType.Float16 => (ulong)Float16,
                _ => 16UL,
            });
            var offset = AlignData();
            data.Write(value.Data.Span);
            WriteExternalData(tensor, offset, value.Data.Length);
            source.Position = end;
            WriteTensor(output, key, tensor);
        }

        // The fields of the TensorProto body from `body` to `end` that `keep` accepts, copied byte for byte.
        private void CopyFields(Stream tensor, long body, long end, Func<int, bool> keep)
        {
            source.Position = body;
            while (true)
            {
                var fieldStart = source.Position;
                if (!_reader.Next(end, out var field, out var wire))
                {
                    return;
                }
                _reader.Skip(wire, end);
                if (keep(field))
                {
                    Copy(tensor, fieldStart, source.Position);
                }
            }
        }

        private (string File, long Offset, long Length) ExternalSource(string name, Dictionary<string, string> entries)
        {
            if (!entries.TryGetValue("location", out var location))
            {
                throw Malformed(name, "external data without a location");
            }
            var folder = Path.GetDirectoryName(file.Path)!;
            var path = Path.GetFullPath(Path.Combine(folder, location));
            if (!path.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw Malformed(name, $"external data '{location}' outside the model's folder");
            }
            if (!File.Exists(path))
            {
                throw Malformed(name, $"its external data file '{path}' does not exist");
            }
            var size = new FileInfo(path).Length;
            long offset = 0, length;
            if (entries.TryGetValue("offset", out var o) && !long.TryParse(o, NumberStyles.None, CultureInfo.InvariantCulture, out offset))
            {
                throw Malformed(name, $"external data offset '{o}'");
            }
            if (!entries.TryGetValue("length", out var l))
            {
                length = size - offset;
            }
            else if (!long.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out length))
            {
                throw Malformed(name, $"external data length '{l}'");
            }
            if (offset < 0 || length < 0 || offset + length > size)
            {
                throw Malformed(name, $"bytes {offset}..{offset + length} lie past the end of '{path}' ({size} bytes)");
            }
            return (path, offset, length);
        }

        // int32_data holds one float16's 16 bits per varint, packed (one length-delimited field) or not.
        private ushort[] ReadInt32Halves(string name, long end, long count)
        {
            var halves = new ushort[checked((int)count)];
            var at = 0;
            while (_reader.Next(end, out var field, out var wire))
            {
                if (field != 5)
                {
                    _reader.Skip(wire, end);
                    continue;
                }
                var stop = wire == ProtobufReader.LengthDelimited ? _reader.ReadLength(end) : -1;
                do
                {
                    if (at == halves.Length)
                    {
                        throw Malformed(name, $"more than the {count} values its shape holds");
                    }
                    halves[at++] = (ushort)_reader.ReadVarint();
                }
                while (stop >= 0 && source.Position < stop);
            }
            if (at != halves.Length)
            {
                throw Malformed(name, $"{at} values where its shape holds {count}");
            }
            return halves;
        }

        private void ConvertRange(string path, long offset, long count, Stream output)
        {
            if (count == 0)
            {
                return;
            }
            var fromSource = path == file.Path;
            using var other = fromSource ? null : new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            var input = other ?? (Stream)source;
            input.Position = offset;
            var halves = new Half[ChunkElements];
            var floats = new float[ChunkElements];
            for (long done = 0; done < count;)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var n = (int)Math.Min(ChunkElements, count - done);
                input.ReadExactly(MemoryMarshal.AsBytes(halves.AsSpan(0, n)));
                TensorPrimitives.ConvertToSingle(halves.AsSpan(0, n), floats.AsSpan(0, n));
                output.Write(MemoryMarshal.AsBytes(floats.AsSpan(0, n)));
                done += n;
            }
        }

        private void CopyRange(string path, long offset, long length, Stream output)
        {
            using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            input.Position = offset;
            var buffer = new byte[1 << 16];
            for (long done = 0; done < length;)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var n = (int)Math.Min(buffer.Length, length - done);
                input.ReadExactly(buffer, 0, n);
                output.Write(buffer, 0, n);
                done += n;
            }
        }

        private static void WriteFloats(Stream output, ushort[] halves)
        {
            var floats = new float[Math.Min(ChunkElements, halves.Length)];
            for (var done = 0; done < halves.Length;)
            {
                var n = Math.Min(ChunkElements, halves.Length - done);
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<ushort, Half>(halves.AsSpan(done, n)), floats.AsSpan(0, n));
                output.Write(MemoryMarshal.AsBytes(floats.AsSpan(0, n)));
                done += n;
            }
        }

        private long AlignData()
        {
            var padding = (Alignment - data.Position % Alignment) % Alignment;
            Span<byte> zeros = stackalloc byte[(int)padding];
            zeros.Clear();
            data.Write(zeros);
            return data.Position;
        }

        private void Copy(Stream output, long from, long to)
        {
            var back = source.Position;
            source.Position = from;
            var buffer = new byte[(int)Math.Min(1 << 16, Math.Max(0, to - from))];
            for (var at = from; at < to;)
            {
                var n = (int)Math.Min(buffer.Length, to - at);
                source.ReadExactly(buffer, 0, n);
                output.Write(buffer, 0, n);
                at += n;
            }
            source.Position = back;
        }

        private void WriteMessage(Stream output, int field, Action<Stream> body)
        {
            using var buffer = new MemoryStream();
            body(buffer);
            WriteKey(output, field, ProtobufReader.LengthDelimited);
            WriteVarint(output, (ulong)buffer.Length);
            buffer.Position = 0;
            buffer.CopyTo(output);
        }

        private InvalidDataException Malformed(string tensor, string what) =>
            new($"'{file.Path}' is not a valid ONNX model: tensor '{tensor}' has {what}.");
    }

    // The data's place in the data file, and data_location EXTERNAL.
    private static void WriteExternalData(Stream tensor, long offset, long length)
    {
        WriteExternalEntry(tensor, "location", DataName);
        WriteExternalEntry(tensor, "offset", offset.ToString(CultureInfo.InvariantCulture));
        WriteExternalEntry(tensor, "length", length.ToString(CultureInfo.InvariantCulture));
        WriteVarintField(tensor, 14, 1);
    }

    private static void WriteTensor(Stream output, int key, MemoryStream tensor)
    {
        WriteKey(output, key, ProtobufReader.LengthDelimited);
        WriteVarint(output, (ulong)tensor.Length);
        tensor.Position = 0;
        tensor.CopyTo(output);
    }

    private static void WriteExternalEntry(Stream output, string key, string value)
    {
        var k = Encoding.UTF8.GetBytes(key);
        var v = Encoding.UTF8.GetBytes(value);
        WriteKey(output, 13, ProtobufReader.LengthDelimited);
        WriteVarint(output, (ulong)(2 + k.Length + 2 + v.Length));
        WriteKey(output, 1, ProtobufReader.LengthDelimited);
        WriteVarint(output, (ulong)k.Length);
        output.Write(k);
        WriteKey(output, 2, ProtobufReader.LengthDelimited);
        WriteVarint(output, (ulong)v.Length);
        output.Write(v);
    }

    private static void WriteVarintField(Stream output, int field, ulong value)
    {
        WriteKey(output, field, ProtobufReader.Varint);
        WriteVarint(output, value);
    }

    private static void WriteKey(Stream output, int field, int wire) => WriteVarint(output, (ulong)((field << 3) | wire));

    private static void WriteVarint(Stream output, ulong value) => ProtobufVarint.Write(output, value);
}
