namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// Writes an output file whole or not at all: into a temporary file beside the reserved name, which it replaces only once
/// complete, so a full disk or a cancelled run fails the run and never leaves a truncated file under the real name (the
/// reserved name is removed too).
/// </summary>
internal static class WholeFile
{
    /// <summary>Writes <paramref name="path"/> (already reserved) through <paramref name="write"/>.</summary>
    public static async Task WriteAsync(string path, Action<Stream> write, CancellationToken cancellationToken)
    {
        var partial = path + ".part";
        try
        {
            await using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(file);
                await file.FlushAsync(cancellationToken);
            }
            File.Move(partial, path, overwrite: true);
        }
        catch
        {
            File.Delete(partial);
            File.Delete(path);
            throw;
        }
    }
}
