namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>Protocol-buffer base-128 varints written to a stream (the ONNX file rewriters' one encoder).</summary>
internal static class ProtobufVarint
{
    /// <summary>Writes <paramref name="value"/> as a varint: seven bits a byte, low bits first, the high bit set on all but the last.</summary>
    public static void Write(Stream stream, ulong value)
    {
        Span<byte> buffer = stackalloc byte[10];
        var length = 0;
        while (value >= 0x80)
        {
            buffer[length++] = (byte)(value | 0x80);
            value >>= 7;
        }
        buffer[length++] = (byte)value;
        stream.Write(buffer[..length]);
    }
}
