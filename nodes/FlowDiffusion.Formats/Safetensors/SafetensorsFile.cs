using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using FlowDiffusion.Formats.Torch;

namespace FlowDiffusion.Formats.Safetensors;

/// <summary>
/// A safetensors file opened read-only and memory-mapped: the header is parsed and checked on open, tensor data is read
/// from the mapping on demand (nothing is copied until asked), and F16/BF16/F64 convert to float32 as they are read.
/// A PyTorch checkpoint saved by <c>torch.save</c> (<c>.ckpt</c>, <c>.pt</c>, <c>.pth</c>, <c>.bin</c>; its ZIP archive
/// or the legacy format before PyTorch 1.6) opens the same way: its pickle is read without running any code and its tensors are read in place from the archive.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _base;
    private bool _disposed;

    private SafetensorsFile(string path, SafetensorsHeader header, MemoryMappedFile? map, MemoryMappedViewAccessor? view)
    {
        Path = path;
        Header = header;
        _map = map;
        _view = view;
        if (view is not null)
        {
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            _base = pointer + view.PointerOffset;
        }
    }

    /// <summary>The file's path as given to <see cref="Open"/>.</summary>
    public string Path { get; }

    /// <summary>The parsed, checked header.</summary>
    public SafetensorsHeader Header { get; }

    /// <summary>Every tensor by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsTensor> Tensors => Header.Tensors;

    /// <summary>
    /// Opens and maps <paramref name="path"/>, a safetensors file or a PyTorch checkpoint (ZIP or legacy). Throws
    /// <see cref="SafetensorsException"/> naming the file when it is truncated, malformed or a Git LFS pointer;
    /// <see cref="FileNotFoundException"/> when absent.
    /// </summary>
    public static SafetensorsFile Open(string path, long maxHeaderBytes = SafetensorsHeader.DefaultMaxHeaderBytes)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var length = stream.Length;
        // The first bytes tell a Git LFS pointer or a pickle apart; the header is read whole only when its length is plausible.
        var start = new byte[(int)Math.Min(length, 64)];
        stream.ReadExactly(start);
        var torch = start.AsSpan().StartsWith("PK\u0003\u0004"u8);
        var legacy = SafetensorsHeader.StartsLikePickle(start);
        if (start.Length >= 8 && !torch && !legacy)
        {
            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(start);
            if (headerLength <= (ulong)Math.Min(maxHeaderBytes, length - 8) && 8 + (long)headerLength > start.Length)
            {
                var whole = new byte[8 + (int)headerLength];
                start.CopyTo(whole, 0);
                stream.ReadExactly(whole.AsSpan(start.Length));
                start = whole;
            }
        }

        var header = torch ? TorchCheckpoint.ReadHeader(path, stream, maxHeaderBytes)
            : legacy ? TorchCheckpoint.ReadLegacyHeader(path, stream, maxHeaderBytes)
            : SafetensorsHeader.Parse(path, start, length, maxHeaderBytes);
        if (length == 0 || header.Tensors.Values.All(t => t.ByteLength == 0))
        {
            return new SafetensorsFile(path, header, null, null);
        }

        var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        try
        {
            return new SafetensorsFile(path, header, map, map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read));
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>The tensor called <paramref name="name"/>; throws naming the file and tensor when there is none.</summary>
    public SafetensorsTensor Get(string name) =>
        Tensors.TryGetValue(name, out var tensor) ? tensor : throw new SafetensorsException(Path, name, "no such tensor in the file.");

    /// <summary>The tensor's raw little-endian bytes, straight from the mapping; valid until the file is disposed.</summary>
    public ReadOnlySpan<byte> GetBytes(SafetensorsTensor tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (tensor.ByteLength == 0)
        {
            return [];
        }

        if (tensor.ByteLength > int.MaxValue)
        {
            throw new SafetensorsException(Path, tensor.Name, $"{tensor.ByteLength} bytes is more than one span can hold; read it in parts.");
        }

        return new ReadOnlySpan<byte>(_base + tensor.Offset, (int)tensor.ByteLength);
    }

    /// <summary>The tensor's values as a new float32 array (F32, F16, BF16, F64 and the fp8 types convert; other types are refused).</summary>
    public float[] ReadFloat32(string name)
    {
        var tensor = Get(name);
        var values = new float[CheckedCount(tensor)];
        ReadFloat32(tensor, values);
        return values;
    }

    /// <summary>Converts the tensor's values into <paramref name="destination"/>, which must hold exactly its element count.</summary>
    public void ReadFloat32(SafetensorsTensor tensor, Span<float> destination)
    {
        if (destination.Length != tensor.ElementCount)
        {
            throw new ArgumentException($"{Path}: tensor '{tensor.Name}' has {tensor.ElementCount} elements, not {destination.Length}.", nameof(destination));
        }

        var bytes = GetBytes(tensor);
        switch (tensor.DType)
        {
            case SafetensorsDType.Float32:
                if (BitConverter.IsLittleEndian)
                {
                    MemoryMarshal.Cast<byte, float>(bytes).CopyTo(destination);
                }
                else
                {
                    for (var i = 0; i < destination.Length; i++)
                    {
                        destination[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
                    }
                }

                break;
            case SafetensorsDType.Float16:
                for (var i = 0; i < destination.Length; i++)
                {
                    destination[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(i * 2)..]);
                }

                break;
            case SafetensorsDType.BFloat16:
                for (var i = 0; i < destination.Length; i++)
                {
                    destination[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]) << 16);
                }

                break;
            case SafetensorsDType.Float8E4M3:
                for (var i = 0; i < destination.Length; i++)
                {
                    destination[i] = Float8.E4M3(bytes[i]);
                }

                break;
            case SafetensorsDType.Float8E5M2:
                for (var i = 0; i < destination.Length; i++)
                {
                    destination[i] = Float8.E5M2(bytes[i]);
                }

                break;
            case SafetensorsDType.Float64:
                for (var i = 0; i < destination.Length; i++)
                {
                    destination[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(i * 8)..]);
                }

                break;
            default:
                throw new SafetensorsException(Path, tensor.Name, $"dtype {SafetensorsDTypes.Name(tensor.DType)} is not a floating-point type that converts to float32.");
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }

        _map?.Dispose();
    }

    private int CheckedCount(SafetensorsTensor tensor) => tensor.ElementCount <= Array.MaxLength
        ? (int)tensor.ElementCount
        : throw new SafetensorsException(Path, tensor.Name, $"{tensor.ElementCount} elements do not fit one array.");
}
