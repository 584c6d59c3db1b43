using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace FlowDiffusion.Imaging;

/// <summary>
/// Writes bytes as one zlib stream (RFC 1950) whose deflate data is compressed in pieces on several cores at once:
/// every piece but the last ends with a sync flush (an empty stored block, so the next piece starts on a byte
/// boundary) and the last one ends the stream; the pieces' Adler-32 checksums are combined. Any inflater reads the
/// result as a single stream; each piece starts without the previous piece's 32 KiB window, which costs a few bytes.
/// </summary>
internal static class ParallelZlib
{
    // Below this a piece is not worth a thread.
    private const int MinimumPiece = 256 * 1024;

    // CMF 0x78 (deflate, 32 KiB window), FLG 0x01 (fastest compression, no dictionary; 0x7801 is a multiple of 31).
    private static readonly byte[] Header = [0x78, 0x01];

    /// <summary>Compresses <paramref name="data"/> at <paramref name="options"/> and writes the zlib stream to <paramref name="output"/>.</summary>
    public static void Write(Stream output, ReadOnlyMemory<byte> data, ZLibCompressionOptions options)
    {
        var count = (int)Math.Clamp(data.Length / MinimumPiece, 1, Environment.ProcessorCount);
        var pieceLength = (data.Length + count - 1) / count;
        var compressed = new byte[count][];
        var lengths = new int[count];
        var checksums = new uint[count];
        try
        {
            Parallel.For(0, count, i =>
            {
                var piece = data.Span.Slice(i * pieceLength, Math.Min(pieceLength, data.Length - i * pieceLength));
                checksums[i] = Adler32.Of(piece);
                // Deflate never grows data by more than a few bytes per 16 KiB stored block; this bound is generous.
                compressed[i] = ArrayPool<byte>.Shared.Rent(piece.Length + piece.Length / 8 + 1024);
                var buffer = new MemoryStream(compressed[i], writable: true);
                var deflate = new DeflateStream(buffer, options, leaveOpen: true);
                deflate.Write(piece);
                if (i < count - 1)
                {
                    deflate.Flush();
                    lengths[i] = (int)buffer.Position;
                    // Disposing would append a final block; the flushed bytes are all this piece contributes.
                    deflate.Dispose();
                }
                else
                {
                    deflate.Dispose();
                    lengths[i] = (int)buffer.Position;
                }
            });
            output.Write(Header);
            var checksum = checksums[0];
            for (var i = 0; i < count; i++)
            {
                output.Write(compressed[i], 0, lengths[i]);
                if (i > 0) checksum = Adler32.Combine(checksum, checksums[i], Math.Min(pieceLength, data.Length - i * pieceLength));
            }
            Span<byte> trailer = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(trailer, checksum);
            output.Write(trailer);
        }
        finally
        {
            foreach (var buffer in compressed)
                if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
