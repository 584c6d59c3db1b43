using System.Buffers.Binary;
using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// The structure of an <c>.onnx</c> file read without ONNX Runtime: its initializers (where their values are, not the
/// values), its nodes' operators and the external data files it uses. Reading skips every tensor's bytes.
/// </summary>
public sealed class OnnxModelFile
{
    private const string LfsPointerPrefix = "version https://git-lfs";

    private readonly Dictionary<string, OnnxInitializer> _initializers;

    private OnnxModelFile(string path, Dictionary<string, OnnxInitializer> initializers, List<OnnxGraphNode> nodes, Dictionary<string, long> opsets)
    {
        Path = path;
        _initializers = initializers;
        Nodes = nodes;
        Opsets = opsets;
        ExternalDataFiles = [.. initializers.Values.Select(i => i.File).Where(f => f != path).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    /// <summary>The model file's full path.</summary>
    public string Path { get; }

    /// <summary>The graph's initializers in file order.</summary>
    public IReadOnlyCollection<OnnxInitializer> Initializers => _initializers.Values;

    /// <summary>The main graph's nodes in file order (subgraphs of control-flow nodes are not listed).</summary>
    public IReadOnlyList<OnnxGraphNode> Nodes { get; }

    /// <summary>The operator sets the model imports, by domain (empty for ai.onnx) → version.</summary>
    public IReadOnlyDictionary<string, long> Opsets { get; }

    /// <summary>The external data files the initializers name, as full paths, each once.</summary>
    public IReadOnlyList<string> ExternalDataFiles { get; }

    /// <summary>Reads the structure of the model at <paramref name="path"/>.</summary>
    /// <param name="path">An <c>.onnx</c> file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is a Git LFS pointer or not a valid ONNX model; the message names it.</exception>
    public static OnnxModelFile Read(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"ONNX model file '{full}' does not exist.", full);
        }
        ThrowIfLfsPointer(full);
        using var stream = new BufferedStream(new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.RandomAccess), 1 << 16);
        var reader = new ProtobufReader(stream, full);
        var initializers = new Dictionary<string, OnnxInitializer>(StringComparer.Ordinal);
        var nodes = new List<OnnxGraphNode>();
        var opsets = new Dictionary<string, long>(StringComparer.Ordinal);
        var end = stream.Length;
        var sawGraph = false;
        while (reader.Next(end, out var field, out var wire))
        {
            if (field == 7 && wire == ProtobufReader.LengthDelimited)
            {
                sawGraph = true;
                ReadGraph(reader, reader.ReadLength(end), full, initializers, nodes);
            }
            else if (field == 8 && wire == ProtobufReader.LengthDelimited)
            {
                var stop = reader.ReadLength(end);
                string domain = string.Empty;
                long version = 0;
                while (reader.Next(stop, out var f, out var w))
                {
                    if (f == 1 && w == ProtobufReader.LengthDelimited) domain = reader.ReadString(stop);
                    else if (f == 2 && w == ProtobufReader.Varint) version = (long)reader.ReadVarint();
                    else reader.Skip(w, stop);
                }
                opsets[domain == "ai.onnx" ? string.Empty : domain] = version;
            }
            else
            {
                reader.Skip(wire, end);
            }
        }
        if (!sawGraph)
        {
            throw reader.Malformed("no graph");
        }
        var model = new OnnxModelFile(full, initializers, nodes, opsets);
        foreach (var external in model.ExternalDataFiles)
        {
            ThrowIfLfsPointer(external);
        }
        return model;
    }

    /// <summary>Whether <paramref name="path"/> is a Git LFS pointer (a small text file standing in for the real one).</summary>
    public static bool IsLfsPointer(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists || info.Length > 1024)
        {
            return false;
        }
        Span<byte> head = stackalloc byte[LfsPointerPrefix.Length];
        using var stream = File.OpenRead(path);
        return stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) == head.Length
            && System.Text.Encoding.ASCII.GetString(head) == LfsPointerPrefix;
    }

    /// <summary>Throws the "run git lfs pull" error when <paramref name="path"/> is a Git LFS pointer.</summary>
    /// <exception cref="InvalidDataException">The file is a Git LFS pointer.</exception>
    public static void ThrowIfLfsPointer(string path)
    {
        if (IsLfsPointer(path))
        {
            throw new InvalidDataException(
                $"'{path}' is a Git LFS pointer, not the file itself — run git lfs pull in the model's repository (or download the file) and try again.");
        }
    }

    /// <summary>The initializer called <paramref name="name"/>, or null.</summary>
    public OnnxInitializer? Initializer(string name) => _initializers.GetValueOrDefault(name);

    /// <summary>The weights overrides can change (float32, float16 and bfloat16 initializers).</summary>
    public IReadOnlyList<WeightInfo> Weights => [.. _initializers.Values.Where(i => i.ElementType is not null).Select(i => i.Info)];

    /// <summary>
    /// The bytes of the model file and of every external data file it names — what ONNX Runtime reads — following
    /// symbolic links to their targets (as the Hugging Face cache lays files out) and counting no other file.
    /// </summary>
    public long WeightsBytes => new[] { Path }.Concat(ExternalDataFiles).Sum(TargetLength);

    /// <summary>Reads the values of the initializer <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">The graph has no such initializer.</exception>
    /// <exception cref="InvalidDataException">Its type cannot be overridden or its data is malformed.</exception>
    public WeightTensor ReadWeight(string name)
    {
        var init = Initializer(name) ?? throw new KeyNotFoundException($"'{Path}' has no initializer called '{name}'.");
        var type = init.ElementType ?? throw new InvalidDataException($"Initializer '{name}' of '{Path}' has ONNX data type {init.DataType}, which weight overrides do not carry.");
        var bytes = checked(init.ElementCount * WeightTensor.ElementSize(type));
        ThrowIfLfsPointer(init.File);
        using var stream = new FileStream(init.File, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        if (init.Offset + Math.Max(init.Length, 0) > stream.Length)
        {
            throw new InvalidDataException($"Initializer '{name}' of '{Path}' lies past the end of '{init.File}'.");
        }
        stream.Position = init.Offset;
        var data = new byte[bytes];
        if (init.Encoding == 5)
        {
            // float16/bfloat16 stored as int32_data: one varint per element holding the 16 bits.
            var reader = new ProtobufReader(new BufferedStream(stream), init.File);
            var stop = init.Offset + init.Length;
            for (var i = 0; i < init.ElementCount; i++)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(i * 2), (ushort)reader.ReadVarint());
            }
            if (reader.Position > stop)
            {
                throw new InvalidDataException($"Initializer '{name}' of '{Path}' holds fewer values than its shape.");
            }
        }
        else
        {
            if (init.Length != bytes)
            {
                throw new InvalidDataException($"Initializer '{name}' of '{Path}' holds {init.Length} bytes; {init.Info.ElementType} [{string.Join(", ", init.Shape)}] needs {bytes}.");
            }
            stream.ReadExactly(data);
        }
        return new WeightTensor(type, init.Shape, data);
    }

    private static long TargetLength(string file)
    {
        var info = new FileInfo(file);
        if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target)
        {
            return target.Exists ? target.Length : 0;
        }
        return info.Exists ? info.Length : 0;
    }

    private static void ReadGraph(ProtobufReader reader, long end, string modelPath, Dictionary<string, OnnxInitializer> initializers, List<OnnxGraphNode> nodes)
    {
        while (reader.Next(end, out var field, out var wire))
        {
            if (field == 1 && wire == ProtobufReader.LengthDelimited)
            {
                nodes.Add(ReadNode(reader, reader.ReadLength(end)));
            }
            else if (field == 5 && wire == ProtobufReader.LengthDelimited)
            {
                var init = ReadTensor(reader, reader.ReadLength(end), modelPath);
                initializers[init.Name] = init;
            }
            else
            {
                reader.Skip(wire, end);
            }
        }
    }

    private static OnnxGraphNode ReadNode(ProtobufReader reader, long end)
    {
        var inputs = new List<string>();
        string op = string.Empty, domain = string.Empty;
        while (reader.Next(end, out var field, out var wire))
        {
            if (field == 1 && wire == ProtobufReader.LengthDelimited) inputs.Add(reader.ReadString(end));
            else if (field == 4 && wire == ProtobufReader.LengthDelimited) op = reader.ReadString(end);
            else if (field == 7 && wire == ProtobufReader.LengthDelimited) domain = reader.ReadString(end);
            else reader.Skip(wire, end);
        }
        return new OnnxGraphNode(op, domain == "ai.onnx" ? string.Empty : domain, inputs);
    }

    private static OnnxInitializer ReadTensor(ProtobufReader reader, long end, string modelPath)
    {
        var dims = new List<long>();
        string name = string.Empty;
        int dataType = 0, encoding = 0;
        long offset = -1, length = -1;
        var external = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Next(end, out var field, out var wire))
        {
            switch (field, wire)
            {
                case (1, ProtobufReader.Varint):
                    dims.Add((long)reader.ReadVarint());
                    break;
                case (1, ProtobufReader.LengthDelimited):
                    var stop = reader.ReadLength(end);
                    while (reader.Position < stop) dims.Add((long)reader.ReadVarint());
                    break;
                case (2, ProtobufReader.Varint):
                    dataType = (int)reader.ReadVarint();
                    break;
                case (8, ProtobufReader.LengthDelimited):
                    name = reader.ReadString(end);
                    break;
                case (9, ProtobufReader.LengthDelimited) or (4, ProtobufReader.LengthDelimited) or (5, ProtobufReader.LengthDelimited):
                    var dataEnd = reader.ReadLength(end);
                    (offset, length, encoding) = (reader.Position, dataEnd - reader.Position, field == 5 ? 5 : 0);
                    reader.Seek(dataEnd);
                    break;
                case (13, ProtobufReader.LengthDelimited):
                    var entryEnd = reader.ReadLength(end);
                    string key = string.Empty, value = string.Empty;
                    while (reader.Next(entryEnd, out var f, out var w))
                    {
                        if (f == 1 && w == ProtobufReader.LengthDelimited) key = reader.ReadString(entryEnd);
                        else if (f == 2 && w == ProtobufReader.LengthDelimited) value = reader.ReadString(entryEnd);
                        else reader.Skip(w, entryEnd);
                    }
                    external[key] = value;
                    break;
                default:
                    reader.Skip(wire, end);
                    break;
            }
        }
        var file = modelPath;
        if (external.TryGetValue("location", out var location))
        {
            var folder = System.IO.Path.GetDirectoryName(modelPath)!;
            file = System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, location));
            if (!file.StartsWith(folder + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"Initializer '{name}' of '{modelPath}' names external data '{location}' outside the model's folder.");
            }
            offset = external.TryGetValue("offset", out var o) && long.TryParse(o, out var off) ? off : 0;
            length = external.TryGetValue("length", out var l) && long.TryParse(l, out var len) ? len : -1;
            encoding = 0;
            if (length < 0 && File.Exists(file))
            {
                length = new FileInfo(file).Length - offset;
            }
        }
        return new OnnxInitializer(name, dataType, dims, file, Math.Max(offset, 0), length, encoding);
    }
}
