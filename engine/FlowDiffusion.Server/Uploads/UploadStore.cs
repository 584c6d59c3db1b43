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

    /// <summary>Creates the store over the host's data folder.</summary>
    public UploadStore(IOptions<FlowDiffusionOptions> engine, IOptions<ServerOptions> server)
    {
        _workingFolder = Path.GetFullPath(server.Value.WorkingFolder is { Length: > 0 } root ? root : Environment.CurrentDirectory);
        _folder = Path.Combine(Path.GetFullPath(engine.Value.DataFolder, _workingFolder), "uploads");
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
