using System.Buffers.Binary;
using System.Text;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Formats.Torch;

/// <summary>
/// The entries of a ZIP archive whose members are stored uncompressed, as <c>torch.save</c> writes them: each entry's
/// data lies in the file as it is, so a tensor's bytes can be read from a memory map at an offset. The central directory
/// (ZIP64 too, for files past 4 GiB) is read and every entry checked to lie inside the file; compressed or encrypted
/// entries are refused.
/// </summary>
internal sealed class StoredZip
{
    private const uint EndSignature = 0x06054b50;
    private const uint Zip64EndSignature = 0x06064b50;
    private const uint Zip64LocatorSignature = 0x07064b50;
    private const uint CentralSignature = 0x02014b50;
    private const uint LocalSignature = 0x04034b50;
    private const int MaxEntries = 1_000_000;

    private StoredZip(IReadOnlyDictionary<string, StoredZipEntry> entries) => Entries = entries;

    /// <summary>Every entry by name.</summary>
    public IReadOnlyDictionary<string, StoredZipEntry> Entries { get; }

    /// <summary>Reads the directory of the archive in <paramref name="stream"/>; throws naming <paramref name="path"/> when it is damaged.</summary>
    public static StoredZip Read(string path, Stream stream)
    {
        SafetensorsException Bad(string problem) => new(path, null, problem);
        var length = stream.Length;
        var tailLength = (int)Math.Min(length, 22 + 65535 + 20);
        var tail = ReadAt(stream, length - tailLength, tailLength);
        var end = -1;
        for (var i = tail.Length - 22; i >= 0; i--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(i)) == EndSignature)
            {
                end = i;
                break;
            }
        }

        if (end < 0)
        {
            throw Bad("it starts like a ZIP archive (a PyTorch checkpoint) but has no end-of-directory record; the file is truncated.");
        }

        long count = BinaryPrimitives.ReadUInt16LittleEndian(tail.AsSpan(end + 10));
        long directorySize = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(end + 12));
        long directoryOffset = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(end + 16));
        if (count == 0xFFFF || directorySize == 0xFFFFFFFF || directoryOffset == 0xFFFFFFFF)
        {
            if (end < 20 || BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(end - 20)) != Zip64LocatorSignature)
            {
                throw Bad("its ZIP directory needs a ZIP64 record that is missing; the file is damaged.");
            }

            var recordOffset = BinaryPrimitives.ReadInt64LittleEndian(tail.AsSpan(end - 12));
            if (recordOffset < 0 || recordOffset > length - 56)
            {
                throw Bad("its ZIP64 directory record lies outside the file; the file is truncated or damaged.");
            }

            var record = ReadAt(stream, recordOffset, 56);
            if (BinaryPrimitives.ReadUInt32LittleEndian(record) != Zip64EndSignature)
            {
                throw Bad("its ZIP64 directory record is damaged.");
            }

            count = BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(32));
            directorySize = BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(40));
            directoryOffset = BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(48));
        }

        if (count < 0 || count > MaxEntries || directorySize < 0 || directoryOffset < 0 || directorySize > length || directoryOffset > length - directorySize
            || directorySize > int.MaxValue)
        {
            throw Bad($"its ZIP directory ({count} entries, {directorySize} bytes at {directoryOffset}) does not fit the {length}-byte file; it is truncated or damaged.");
        }

        var directory = ReadAt(stream, directoryOffset, (int)directorySize);
        var entries = new Dictionary<string, StoredZipEntry>(StringComparer.Ordinal);
        var at = 0;
        for (var n = 0; n < count; n++)
        {
            if (at > directory.Length - 46 || BinaryPrimitives.ReadUInt32LittleEndian(directory.AsSpan(at)) != CentralSignature)
            {
                throw Bad($"ZIP directory entry {n} is damaged.");
            }

            var entry = directory.AsSpan(at);
            var flags = BinaryPrimitives.ReadUInt16LittleEndian(entry[8..]);
            var method = BinaryPrimitives.ReadUInt16LittleEndian(entry[10..]);
            long compressed = BinaryPrimitives.ReadUInt32LittleEndian(entry[20..]);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(entry[24..]);
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(entry[28..]);
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(entry[30..]);
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(entry[32..]);
            long localOffset = BinaryPrimitives.ReadUInt32LittleEndian(entry[42..]);
            if (at + 46L + nameLength + extraLength + commentLength > directory.Length)
            {
                throw Bad($"ZIP directory entry {n} runs past the directory; the file is damaged.");
            }

            var name = Encoding.UTF8.GetString(entry.Slice(46, nameLength));
            ReadZip64Sizes(entry.Slice(46 + nameLength, extraLength), ref size, ref compressed, ref localOffset);
            at += 46 + nameLength + extraLength + commentLength;
            if ((flags & 1) != 0)
            {
                throw Bad($"ZIP entry '{name}' is encrypted; PyTorch never writes that, so this is not a checkpoint it saved.");
            }

            if (method != 0 || compressed != size)
            {
                throw Bad($"ZIP entry '{name}' is compressed (method {method}); PyTorch stores its entries uncompressed, so re-save the file with torch.save.");
            }

            if (localOffset < 0 || localOffset > length - 30)
            {
                throw Bad($"ZIP entry '{name}' starts outside the file; it is truncated or damaged.");
            }

            var local = ReadAt(stream, localOffset, 30);
            if (BinaryPrimitives.ReadUInt32LittleEndian(local) != LocalSignature)
            {
                throw Bad($"ZIP entry '{name}' has no local header where the directory says; the file is damaged.");
            }

            var dataOffset = localOffset + 30 + BinaryPrimitives.ReadUInt16LittleEndian(local.AsSpan(26)) + BinaryPrimitives.ReadUInt16LittleEndian(local.AsSpan(28));
            if (size < 0 || dataOffset > length || size > length - dataOffset)
            {
                throw Bad($"ZIP entry '{name}' ({size} bytes at {dataOffset}) runs past the end of the {length}-byte file; it is truncated.");
            }

            entries[name] = new StoredZipEntry(name, dataOffset, size);
        }

        return new StoredZip(entries);
    }

    /// <summary>Reads <paramref name="count"/> bytes at <paramref name="offset"/>.</summary>
    public static byte[] ReadAt(Stream stream, long offset, int count)
    {
        var bytes = new byte[count];
        stream.Position = offset;
        stream.ReadExactly(bytes);
        return bytes;
    }

    // The ZIP64 extra field (id 1) holds, in this order, only the values whose 32-bit fields read 0xFFFFFFFF.
    private static void ReadZip64Sizes(ReadOnlySpan<byte> extra, ref long size, ref long compressed, ref long localOffset)
    {
        while (extra.Length >= 4)
        {
            var id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            var fieldLength = Math.Min(BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]), extra.Length - 4);
            var field = extra.Slice(4, fieldLength);
            if (id == 1)
            {
                var at = 0;
                if (size == 0xFFFFFFFF && at + 8 <= field.Length)
                {
                    size = BinaryPrimitives.ReadInt64LittleEndian(field[at..]);
                    at += 8;
                }

                if (compressed == 0xFFFFFFFF && at + 8 <= field.Length)
                {
                    compressed = BinaryPrimitives.ReadInt64LittleEndian(field[at..]);
                    at += 8;
                }

                if (localOffset == 0xFFFFFFFF && at + 8 <= field.Length)
                {
                    localOffset = BinaryPrimitives.ReadInt64LittleEndian(field[at..]);
                }

                return;
            }

            extra = extra[(4 + fieldLength)..];
        }
    }
}
