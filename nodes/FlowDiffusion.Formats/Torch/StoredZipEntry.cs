namespace FlowDiffusion.Formats.Torch;

/// <summary>One uncompressed ZIP entry: its name and where its bytes lie in the file.</summary>
/// <param name="Name">The entry's path inside the archive.</param>
/// <param name="DataOffset">Where its data starts, in bytes from the start of the file.</param>
/// <param name="Size">Its length in bytes.</param>
internal sealed record StoredZipEntry(string Name, long DataOffset, long Size);
