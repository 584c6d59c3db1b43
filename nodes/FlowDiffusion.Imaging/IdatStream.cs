using System.Buffers;
using System.Buffers.Binary;

namespace FlowDiffusion.Imaging;

/// <summary>
/// A write-only stream that cuts what is written to it (the zlib stream of a PNG's pixels) into IDAT chunks of up to
/// 64 KiB on the way to the file, so the compressed image is never held whole in memory. Given a sequence, it writes an
/// APNG's later frame instead: fdAT chunks, each starting with the next number of the sequence.
/// </summary>
internal sealed class IdatStream(Stream output, Func<uint>? sequence = null) : Stream
{
    private const int ChunkSize = 1 << 16;

    // fdAT's sequence number goes before the data.
    private readonly int _start = sequence is null ? 0 : 4;
    private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(ChunkSize + 4);
    private int _count;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        var chunk = _buffer ?? throw new ObjectDisposedException(nameof(IdatStream));
        while (!buffer.IsEmpty)
        {
            var take = Math.Min(buffer.Length, ChunkSize - _count);
            buffer[..take].CopyTo(chunk.AsSpan(_start + _count));
            _count += take;
            buffer = buffer[take..];
            if (_count == ChunkSize) Flush();
        }
    }

    /// <summary>Writes what is buffered as one IDAT (or fdAT) chunk.</summary>
    public override void Flush()
    {
        if (_buffer is null || _count == 0) return;
        if (sequence is null) PngEncoder.WriteChunk(output, "IDAT"u8, _buffer.AsSpan(0, _count));
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(_buffer, sequence());
            PngEncoder.WriteChunk(output, "fdAT"u8, _buffer.AsSpan(0, 4 + _count));
        }
        _count = 0;
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && _buffer is { } buffer)
        {
            Flush();
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
        base.Dispose(disposing);
    }
}
