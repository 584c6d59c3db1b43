using FlowDiffusion.Engine.Hosting;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Server.Uploads;

/// <summary>
/// Keeps uploaded images and masks under <c>DataFolder/uploads</c>, each under a fresh server-chosen name, so a client's
/// file name never reaches the file system.
/// </summary>
public sealed class UploadStore
{
    private readonly string _folder;
    private readonly string _workingFolder;
    private readonly TimeSpan _retention;
    private long _nextSweepTicks;

    /// <summary>Creates the store over the host's data folder.</summary>
    public UploadStore(IOptions<FlowDiffusionOptions> engine, IOptions<ServerOptions> server)
    {
        _workingFolder = Path.GetFullPath(server.Value.WorkingFolder is { Length: > 0 } root ? root : Environment.CurrentDirectory);
        _folder = Path.Combine(Path.GetFullPath(engine.Value.DataFolder, _workingFolder), "uploads");
        _retention = server.Value.UploadRetentionDays > 0 ? TimeSpan.FromDays(server.Value.UploadRetentionDays) : TimeSpan.MaxValue;
    }

    /// <summary>
    /// Deletes the upload <paramref name="name"/> (its file name, as <see cref="SaveAsync"/> returned it); false when there
    /// is no such upload. Only names this store makes (32 hex digits and an image extension) are considered.
    /// </summary>
    public bool Delete(string name)
    {
        if (!IsUploadName(name)) return false;
        var file = Path.Combine(_folder, name);
        if (!File.Exists(file)) return false;
        File.Delete(file);
        return true;
    }

    /// <summary>Deletes uploads last written before <paramref name="cutoff"/>; returns how many.</summary>
    public int DeleteOlderThan(DateTime cutoff)
    {
        if (!Directory.Exists(_folder)) return 0;
        var deleted = 0;
        foreach (var file in Directory.EnumerateFiles(_folder))
        {
            if (!IsUploadName(Path.GetFileName(file)) || File.GetLastWriteTimeUtc(file) >= cutoff) continue;
            try
            {
                File.Delete(file);
                deleted++;
            }
            catch (IOException)
            {
                // In use or gone already: the next sweep tries again.
            }
        }
        return deleted;
    }

    /// <summary>Whether <paramref name="name"/> has the shape of a name this store gives uploads.</summary>
    public static bool IsUploadName(string name)
    {
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        return dot == 32 && name[..dot].All(char.IsAsciiHexDigitLower) && name[dot..] is ".png" or ".jpg" or ".webp" or ".gif" or ".bmp";
    }

    // Retention runs on uploads themselves, at most once a minute: no upload traffic, no growth.
    private void SweepNowAndThen()
    {
        if (_retention == TimeSpan.MaxValue) return;
        var now = DateTime.UtcNow;
        var next = Interlocked.Read(ref _nextSweepTicks);
        if (now.Ticks < next || Interlocked.CompareExchange(ref _nextSweepTicks, now.AddMinutes(1).Ticks, next) != next) return;
        DeleteOlderThan(now - _retention);
    }

    /// <summary>The folder the uploads live in.</summary>
    public string Folder => _folder;

    /// <summary>
    /// Saves an image whose first bytes are <paramref name="header"/> followed by the rest of <paramref name="content"/>.
    /// Returns the path a workflow's image or mask input takes: relative to the working folder when inside it.
    /// </summary>
    public async Task<string> SaveAsync(string extension, ReadOnlyMemory<byte> header, Stream content, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_folder);
        SweepNowAndThen();
        var file = Path.Combine(_folder, Guid.NewGuid().ToString("N") + extension);
        var temporary = file + ".part";
        try
        {
            await using (var output = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
            {
                await output.WriteAsync(header, cancellationToken);
                await content.CopyToAsync(output, cancellationToken);
            }
            // The final name appears only once complete, so a run never reads half a file.
            File.Move(temporary, file);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
        var relative = Path.GetRelativePath(_workingFolder, file);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? file : relative.Replace('\\', '/');
    }
}
