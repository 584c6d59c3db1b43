namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// Reads protobuf wire format from a seekable stream one field at a time, skipping what the caller does not want
/// without reading it, so scanning a 2 GB model's structure touches only its small messages.
/// </summary>
internal sealed class ProtobufReader(Stream stream, string file)
{
    public const int Varint = 0;
    public const int Fixed64 = 1;
    public const int LengthDelimited = 2;
    public const int Fixed32 = 5;

    public long Position => stream.Position;

    /// <summary>Reads the next field key before <paramref name="end"/>; false at the end.</summary>
    public bool Next(long end, out int field, out int wireType)
    {
        if (stream.Position >= end)
        {
            field = 0;
            wireType = 0;
            return false;
        }
        var key = ReadVarint();
        field = (int)(key >> 3);
        wireType = (int)(key & 7);
        if (field <= 0)
        {
            throw Malformed($"field number {field}");
        }
        return true;
    }

    public ulong ReadVarint()
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = stream.ReadByte();
            if (b < 0)
            {
                throw Malformed("a varint runs past the end of the file");
            }
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
        throw Malformed("a varint longer than 10 bytes");
    }

    /// <summary>Reads a length prefix and returns where the delimited bytes end, checked against <paramref name="end"/>.</summary>
    public long ReadLength(long end)
    {
        var length = ReadVarint();
        if (length > (ulong)(end - stream.Position))
        {
            throw Malformed($"a field of {length} bytes at offset {stream.Position} runs past its message");
        }
        return stream.Position + (long)length;
    }

    public string ReadString(long end)
    {
        var stop = ReadLength(end);
        var length = checked((int)(stop - stream.Position));
        if (length > 1 << 20)
        {
            throw Malformed($"a {length}-byte name");
        }
        var bytes = new byte[length];
        stream.ReadExactly(bytes);
        return System.Text.Encoding.UTF8.GetString(bytes);
    }

    public void Skip(int wireType, long end)
    {
        long target = wireType switch
        {
            Varint => -1,
            Fixed64 => stream.Position + 8,
            LengthDelimited => ReadLength(end),
            Fixed32 => stream.Position + 4,
            _ => throw Malformed($"wire type {wireType}"),
        };
        if (wireType == Varint)
        {
            ReadVarint();
        }
        else if (target > end)
        {
            throw Malformed("a field runs past its message");
        }
        else
        {
            stream.Position = target;
        }
    }

    public void Seek(long position) => stream.Position = position;

    public InvalidDataException Malformed(string what) =>
        new($"'{file}' is not a valid ONNX model ({what}). If it is a few hundred bytes of text, it may be a Git LFS pointer: run git lfs pull.");
}
