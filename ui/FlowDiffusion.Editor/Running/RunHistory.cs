using System.Text.Json;
using FlowDiffusion.Imaging;
using FlowDiffusion.Server.Runs;
using SkiaSharp;

namespace FlowDiffusion.Editor.Running;

/// <summary>
/// Past runs as the history panel shows them: the run store's newest runs (the same list <c>GET /api/runs</c> pages),
/// each with its output images as small thumbnails made once per file and kept (a bounded number) for later renders.
/// </summary>
public sealed class RunHistory(IRunBackend runs)
{
    /// <summary>How many runs the panel lists.</summary>
    public const int PageSize = 30;

    /// <summary>The longest side of a thumbnail, in pixels.</summary>
    public const int ThumbnailSide = 96;

    private const int MaxKeptThumbnails = 512;
    private readonly Dictionary<(string Run, string File), string?> _thumbnails = [];
    private readonly Dictionary<string, string?> _inputs = [];
    private readonly Lock _gate = new();

    /// <summary>The newest <see cref="PageSize"/> runs, newest first, and how many the store holds.</summary>
    public async Task<(IReadOnlyList<HistoryEntry> Entries, int Total)> LoadAsync(CancellationToken cancellationToken = default)
    {
        var page = await runs.ListAsync(null, 0, PageSize, cancellationToken);
        var entries = new List<HistoryEntry>(page.Runs.Count);
        foreach (var r in page.Runs)
        {
            entries.Add(new HistoryEntry(
                r.Id, r.Status, r.Workflow, r.Submitted,
                r.Started is { } started && r.Finished is { } finished ? finished - started : null,
                r.Error,
                OutputFiles(r.OutputsJson).Select(f => new HistoryOutput(f, Thumbnail(r.Id, f))).ToList(),
                await InputsAsync(r, cancellationToken)));
        }
        return (entries, page.Total);
    }

    // The values run `r` used (HistoryInputs.Effective), read from its full record once: a page leaves the workflow out,
    // and the editor queues its values as the workflow's defaults. Kept per run once the run is final.
    private async Task<string?> InputsAsync(RunRecord r, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_inputs.TryGetValue(r.Id, out var kept)) return kept;
        }
        if (await runs.GetAsync(r.Id, cancellationToken) is not { } full) return r.InputsJson;
        var inputs = HistoryInputs.Effective(full.Yaml, full.InputsJson) ?? full.InputsJson;
        if (full.Status.IsFinal())
        {
            lock (_gate)
            {
                if (_inputs.Count >= MaxKeptThumbnails) _inputs.Clear();
                _inputs[r.Id] = inputs;
            }
        }
        return inputs;
    }

    /// <summary>Output <paramref name="file"/> of run <paramref name="runId"/> at full size, as a data URL; null when it is gone.</summary>
    public string? Full(string runId, string file) =>
        runs.Outputs.Find(runId, file) is { } path && File.Exists(path) ? ImageDataUrl.OfFile(path) : null;

    /// <summary>The run as stored (workflow text and inputs included), or null.</summary>
    public Task<RunRecord?> GetAsync(string runId, CancellationToken cancellationToken = default) => runs.GetAsync(runId, cancellationToken);

    /// <summary>Deletes a finished run and its outputs; false when it is missing or still queued or running.</summary>
    public async Task<bool> DeleteAsync(string runId, CancellationToken cancellationToken = default)
    {
        var deleted = await runs.DeleteAsync(runId, cancellationToken);
        if (deleted)
        {
            lock (_gate)
            {
                foreach (var key in _thumbnails.Keys.Where(k => k.Run == runId).ToList()) _thumbnails.Remove(key);
            }
        }
        return deleted;
    }

    /// <summary>
    /// A PNG or JPEG output as a PNG data URL no larger than <see cref="ThumbnailSide"/> on a side, or null when it is not
    /// an image, is missing, or cannot be read within <see cref="ImageLimits.Default"/>.
    /// </summary>
    public string? Thumbnail(string runId, string file)
    {
        lock (_gate)
        {
            if (_thumbnails.TryGetValue((runId, file), out var kept)) return kept;
        }
        var made = Make(runs.Outputs.Find(runId, file));
        lock (_gate)
        {
            if (_thumbnails.Count >= MaxKeptThumbnails) _thumbnails.Clear();
            _thumbnails[(runId, file)] = made;
        }
        return made;
    }

    private static string? Make(string? path)
    {
        if (path is null || !(path.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase)
                              || path.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase)) || !File.Exists(path)) return null;
        try
        {
            var (bytes, _) = ImageFile.Read(path, Path.GetFileName(path), ImageLimits.Default);
            using var source = SKBitmap.Decode(bytes);
            if (source is null) return null;
            var scale = Math.Min(1.0, (double)ThumbnailSide / Math.Max(source.Width, source.Height));
            var info = new SKImageInfo(Math.Max(1, (int)Math.Round(source.Width * scale)), Math.Max(1, (int)Math.Round(source.Height * scale)));
            using var small = new SKBitmap(info);
            if (!source.ScalePixels(small, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))) return null;
            using var data = small.Encode(SKEncodedImageFormat.Png, 100);
            return "data:image/png;base64," + Convert.ToBase64String(data.AsSpan());
        }
        catch (Exception error) when (error is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException or TimeoutException)
        {
            return null;
        }
    }

    private static IEnumerable<string> OutputFiles(string? json)
    {
        if (string.IsNullOrEmpty(json)) return [];
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Array
                ? document.RootElement.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList()
                : [];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}
