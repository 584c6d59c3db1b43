using System.Text;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

/// <summary>
/// Writes small ONNX models field by field, for what the model generator's builder does not express: operators of
/// other domains (com.microsoft) and initializers kept in external data files.
/// </summary>
internal sealed class HandWrittenOnnx
{
    private readonly List<byte[]> _nodes = [];
    private readonly List<byte[]> _initializers = [];
    private readonly List<byte[]> _inputs = [];
    private readonly List<byte[]> _outputs = [];
    private readonly Dictionary<string, long> _opsets = new() { [""] = 17 };

    public HandWrittenOnnx Opset(string domain, long version)
    {
        _opsets[domain] = version;
        return this;
    }

    public HandWrittenOnnx Input(string name, params object[] dims) => Value(_inputs, name, dims);

    public HandWrittenOnnx Output(string name, params object[] dims) => Value(_outputs, name, dims);

    /// <summary>An input of ONNX element type <paramref name="elementType"/> (10 float16, 7 int64 …).</summary>
    public HandWrittenOnnx TypedInput(int elementType, string name, params object[] dims) => Value(_inputs, name, dims, elementType);

    /// <summary>An output of ONNX element type <paramref name="elementType"/>.</summary>
    public HandWrittenOnnx TypedOutput(int elementType, string name, params object[] dims) => Value(_outputs, name, dims, elementType);

    /// <summary>A float16 initializer in raw_data, or in int32_data (one varint per value; <paramref name="packed"/> or not).</summary>
    public HandWrittenOnnx Float16Weight(string name, Half[] values, bool int32Data = false, bool packed = true, params long[] dims)
    {
        var w = Tensor(name, dims, 10);
        AddFloat16Data(w, values, int32Data, packed);
        _initializers.Add(w.ToArray());
        return this;
    }

    /// <summary>An int64 initializer in raw_data.</summary>
    public HandWrittenOnnx Int64Weight(string name, long[] values, params long[] dims)
    {
        var w = Tensor(name, dims, 7);
        var bytes = new byte[values.Length * 8];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        w.Bytes(9, bytes);
        _initializers.Add(w.ToArray());
        return this;
    }

    /// <summary>The bytes of a float16 TensorProto, for a node's tensor attribute (<c>Constant</c>'s value).</summary>
    public static byte[] Float16TensorBytes(Half[] values, params long[] dims)
    {
        var w = Tensor(string.Empty, dims, 10);
        AddFloat16Data(w, values, int32Data: false, packed: true);
        return w.ToArray();
    }

    private static void AddFloat16Data(Writer w, Half[] values, bool int32Data, bool packed)
    {
        if (!int32Data)
        {
            var bytes = new byte[values.Length * 2];
            for (var i = 0; i < values.Length; i++) BitConverter.TryWriteBytes(bytes.AsSpan(i * 2), BitConverter.HalfToUInt16Bits(values[i]));
            w.Bytes(9, bytes);
        }
        else if (packed)
        {
            var body = new Writer();
            foreach (var v in values) body.Plain(BitConverter.HalfToUInt16Bits(v));
            w.Message(5, body);
        }
        else
        {
            foreach (var v in values) w.Varint(5, BitConverter.HalfToUInt16Bits(v));
        }
    }

    public HandWrittenOnnx Node(string opType, string[] inputs, string[] outputs, string domain = "", params (string Name, object Value)[] attributes)
    {
        var w = new Writer();
        foreach (var input in inputs) w.String(1, input);
        foreach (var output in outputs) w.String(2, output);
        w.String(3, opType + "_" + _nodes.Count);
        w.String(4, opType);
        foreach (var (name, value) in attributes)
        {
            var a = new Writer();
            a.String(1, name);
            if (value is float f) { a.Fixed32(2, BitConverter.SingleToInt32Bits(f)); a.Varint(20, 1); }
            else if (value is byte[] tensor) { a.Bytes(5, tensor); a.Varint(20, 4); }
            else { a.Varint(3, Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)); a.Varint(20, 2); }
            w.Message(5, a);
        }
        if (domain.Length > 0) w.String(7, domain);
        _nodes.Add(w.ToArray());
        return this;
    }

    /// <summary>A float32 initializer stored inside the model.</summary>
    public HandWrittenOnnx Weight(string name, float[] values, params long[] dims)
    {
        var w = Tensor(name, dims);
        w.Bytes(9, Floats(values));
        _initializers.Add(w.ToArray());
        return this;
    }

    /// <summary>A float32 initializer stored in <paramref name="location"/> (relative to the model) at <paramref name="offset"/>.</summary>
    public HandWrittenOnnx ExternalWeight(string name, string location, long offset, long length, params long[] dims) =>
        ExternalWeightOf(1, name, location, offset, length, dims);

    /// <summary>An initializer of ONNX element type <paramref name="elementType"/> stored in <paramref name="location"/>.</summary>
    public HandWrittenOnnx ExternalWeightOf(int elementType, string name, string location, long offset, long length, params long[] dims)
    {
        var w = Tensor(name, dims, elementType);
        foreach (var (key, value) in new[] { ("location", location), ("offset", offset.ToString()), ("length", length.ToString()) })
        {
            var entry = new Writer();
            entry.String(1, key);
            entry.String(2, value);
            w.Message(13, entry);
        }
        w.Varint(14, 1);
        _initializers.Add(w.ToArray());
        return this;
    }

    public byte[] ToBytes()
    {
        var graph = new Writer();
        foreach (var node in _nodes) graph.Raw(1, node);
        graph.String(2, "hand_written");
        foreach (var init in _initializers) graph.Raw(5, init);
        foreach (var input in _inputs) graph.Raw(11, input);
        foreach (var output in _outputs) graph.Raw(12, output);
        var model = new Writer();
        model.Varint(1, 8);
        model.String(2, "flowdiffusion-tests");
        model.Message(7, graph);
        foreach (var (domain, version) in _opsets)
        {
            var opset = new Writer();
            opset.String(1, domain);
            opset.Varint(2, version);
            model.Message(8, opset);
        }
        return model.ToArray();
    }

    public string Write(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, ToBytes());
        return path;
    }

    public static byte[] Floats(float[] values)
    {
        var bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    private static Writer Tensor(string name, long[] dims, int elementType = 1)
    {
        var w = new Writer();
        foreach (var d in dims) w.Varint(1, d);
        w.Varint(2, elementType);
        w.String(8, name);
        return w;
    }

    private HandWrittenOnnx Value(List<byte[]> list, string name, object[] dims, int elementType = 1)
    {
        var shape = new Writer();
        foreach (var dim in dims)
        {
            var d = new Writer();
            if (dim is string symbol) d.String(2, symbol); else d.Varint(1, Convert.ToInt64(dim, System.Globalization.CultureInfo.InvariantCulture));
            shape.Message(1, d);
        }
        var tensor = new Writer();
        tensor.Varint(1, elementType);
        tensor.Message(2, shape);
        var type = new Writer();
        type.Message(1, tensor);
        var info = new Writer();
        info.String(1, name);
        info.Message(2, type);
        list.Add(info.ToArray());
        return this;
    }

    private sealed class Writer
    {
        private readonly MemoryStream _stream = new();

        public byte[] ToArray() => _stream.ToArray();

        public void Varint(int field, long value)
        {
            Key(field, 0);
            Write((ulong)value);
        }

        public void Fixed32(int field, int value)
        {
            Key(field, 5);
            _stream.Write(BitConverter.GetBytes(value));
        }

        public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public void Bytes(int field, byte[] value)
        {
            Key(field, 2);
            Write((ulong)value.Length);
            _stream.Write(value);
        }

        public void Message(int field, Writer body) => Bytes(field, body.ToArray());

        public void Raw(int field, byte[] body) => Bytes(field, body);

        public void Plain(ulong value) => Write(value);

        private void Key(int field, int wire) => Write((ulong)((field << 3) | wire));

        private void Write(ulong value)
        {
            while (value >= 0x80)
            {
                _stream.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            _stream.WriteByte((byte)value);
        }
    }
}
