using System.Buffers.Binary;
using System.Text;

namespace FlowDiffusion.Imaging;

/// <summary>
/// EXIF data holding text entries in its first image directory, as Pillow's <c>Image.Exif.tobytes()</c> lays them out
/// (without the <c>Exif\0\0</c> prefix WebP files leave out): a big-endian TIFF header (Pillow's when the byte order is
/// not set, as on ComfyUI's new images), the directory at offset 8
/// with its entries in tag order, then each value longer than four bytes, padded to an even length. Every value is
/// written as EXIF's ASCII type with the text's UTF-8 bytes and a closing zero byte.
/// </summary>
public static class ExifText
{
    /// <summary>The most entries one directory may hold here.</summary>
    public const int MaxEntries = 64;

    /// <summary>The EXIF bytes of the tag → text entries.</summary>
    /// <param name="entries">Distinct tags and their texts, at most <see cref="MaxEntries"/>.</param>
    /// <exception cref="ArgumentException">Too many entries, a tag twice, or more than 4 GiB of text.</exception>
    public static byte[] Build(IReadOnlyCollection<KeyValuePair<ushort, string>> entries)
    {
        if (entries.Count > MaxEntries) throw new ArgumentException($"{entries.Count} EXIF entries, more than {MaxEntries}", nameof(entries));
        var sorted = entries.OrderBy(e => e.Key).ToArray();
        for (var i = 1; i < sorted.Length; i++)
            if (sorted[i].Key == sorted[i - 1].Key) throw new ArgumentException($"EXIF tag 0x{sorted[i].Key:x4} given twice", nameof(entries));
        var values = sorted.Select(e => (byte[])[.. Encoding.UTF8.GetBytes(e.Value), 0]).ToArray();
        var directory = 2 + 12 * sorted.Length + 4;
        long size = 8 + directory + values.Where(v => v.Length > 4).Sum(v => (long)(v.Length + (v.Length & 1)));
        if (size > int.MaxValue) throw new ArgumentException($"EXIF text of {size:N0} bytes is too large", nameof(entries));

        var exif = new byte[size];
        "MM\0*"u8.CopyTo(exif);
        BinaryPrimitives.WriteUInt32BigEndian(exif.AsSpan(4), 8);
        BinaryPrimitives.WriteUInt16BigEndian(exif.AsSpan(8), (ushort)sorted.Length);
        var data = 8 + directory; // the next directory's offset, 0, sits just before: none follows
        for (var i = 0; i < sorted.Length; i++)
        {
            var entry = exif.AsSpan(10 + 12 * i, 12);
            BinaryPrimitives.WriteUInt16BigEndian(entry, sorted[i].Key);
            BinaryPrimitives.WriteUInt16BigEndian(entry[2..], 2); // ASCII
            BinaryPrimitives.WriteUInt32BigEndian(entry[4..], (uint)values[i].Length);
            if (values[i].Length <= 4)
            {
                values[i].CopyTo(entry[8..]);
                continue;
            }
            BinaryPrimitives.WriteUInt32BigEndian(entry[8..], (uint)data);
            values[i].CopyTo(exif.AsSpan(data));
            data += values[i].Length + (values[i].Length & 1);
        }

        return exif;
    }
}
