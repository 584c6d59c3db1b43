namespace FlowDiffusion.Imaging;

/// <summary>
/// Reads an image file into memory safely: only regular files (a FIFO or device would block or never end), no larger
/// than <see cref="ImageLimits.MaxFileBytes"/>, within <see cref="ImageLimits.ReadTimeout"/>, and only when its header
/// declares a known format within the size limits. Decoders then work on the bytes, never on the path.
/// </summary>
public static class ImageFile
{
    /// <summary>The file's bytes and header.</summary>
    /// <param name="path">The file (already resolved and allowed by the caller).</param>
    /// <param name="name">How messages name the file (the path as the user wrote it).</param>
    /// <param name="limits">The limits.</param>
    /// <param name="cancellationToken">Stops a slow read.</param>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not a regular file, too large, not an image, or declares a size beyond the limits.</exception>
    public static (byte[] Bytes, ImageHeaderInfo Header) Read(string path, string name, ImageLimits limits, CancellationToken cancellationToken = default)
    {
        var bytes = ReadRegularFile(path, name, limits, cancellationToken);
        return (bytes, Check(bytes, name, limits));
    }

    /// <summary>The header of <paramref name="bytes"/>, checked against <paramref name="limits"/>.</summary>
    /// <exception cref="InvalidDataException">Not an image, or beyond the limits; the message starts with the quoted name.</exception>
    public static ImageHeaderInfo Check(ReadOnlySpan<byte> bytes, string name, ImageLimits limits)
    {
        var header = ImageHeader.Read(bytes, out var error) ?? throw new InvalidDataException($"'{name}' {error}");
        if (ImageHeader.Check(header, limits) is { } beyond) throw new InvalidDataException($"'{name}' {beyond}");
        return header;
    }

    /// <summary>Reads a regular file of at most <see cref="ImageLimits.MaxFileBytes"/> bytes within the read timeout.</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">Not a regular file, empty, too large, or too slow to read.</exception>
    public static byte[] ReadRegularFile(string path, string name, ImageLimits limits, CancellationToken cancellationToken = default)
    {
        if (Directory.Exists(path)) throw new InvalidDataException($"'{name}' is a folder, not an image file");
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"image file not found: {name}", name);
        // Pipes, sockets and devices report a size of 0 (and a pipe's open blocks until a writer comes): refused before opening.
        if (info.Length == 0) throw new InvalidDataException($"'{name}' is empty or not a regular file (a pipe or device)");
        if (info.Length > limits.MaxFileBytes)
            throw new InvalidDataException($"'{name}' is {info.Length:N0} bytes; image files are limited to {limits.MaxFileBytes:N0} bytes (FlowDiffusion:MaxInputFileBytes)");
        var read = Task.Run(() => ReadAll(path, name, limits.MaxFileBytes, cancellationToken), cancellationToken);
        try
        {
            return read.WaitAsync(limits.ReadTimeout, cancellationToken).GetAwaiter().GetResult();
        }
        catch (TimeoutException)
        {
            throw new InvalidDataException($"'{name}' could not be read within {limits.ReadTimeout.TotalSeconds:0.#} s (FlowDiffusion:InputReadTimeoutSeconds)");
        }
    }

    private static byte[] ReadAll(string path, string name, long maxBytes, CancellationToken cancellationToken)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        if (!stream.CanSeek) throw new InvalidDataException($"'{name}' is not a regular file (a pipe or device)");
        var length = stream.Length;
        if (length == 0 || length > maxBytes) throw new InvalidDataException($"'{name}' changed size while it was read");
        var bytes = GC.AllocateUninitializedArray<byte>((int)length);
        var at = 0;
        while (at < bytes.Length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var n = stream.Read(bytes, at, Math.Min(1 << 20, bytes.Length - at));
            if (n == 0) throw new InvalidDataException($"'{name}' ended early while it was read");
            at += n;
        }
        return bytes;
    }
}
