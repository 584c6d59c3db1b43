using System.Net;
using System.Text.Json;
using FlowDiffusion.Client;
using FlowDiffusion.Imaging;
using FlowDiffusion.Server.Runs;
using SkiaSharp;

namespace FlowDiffusion.Editor.Running;

/// <summary>
/// Past runs as the history panel shows them: the run store's newest runs (the same list <c>GET /api/runs</c> pages),
/// each with its output images as small thumbnails made once per file and kept (a bounded number) for later renders.
/// With a <paramref name="server"/> (the editor started with <c>--server</c>) it is that server's history, read through the
/// typed client, and its images are fetched from the server; its failures throw for the panel to show (<see cref="RemoteServer.Describe"/>).
/// </summary>
/// <param name="runs">The in-process run backend.</param>
/// <param name="server">The server whose history this is, or null.</param>
public sealed class RunHistory(IRunBackend runs, RemoteServer? server = null)
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
        if (server is not null) return await LoadFromServerAsync(server, cancellationToken);
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

    /// <summary>How many runs the output browser reads at most (the newest), so a huge history cannot stall it.</summary>
    public const int MaxBrowsedRuns = 5000;

    /// <summary>
    /// One page of every output file the runs wrote (the newest <see cref="MaxBrowsedRuns"/> runs, from the server when
    /// there is one), newest first, filtered, with thumbnails of the page's images.
    /// </summary>
    public async Task<OutputPage> OutputsAsync(OutputFilter filter, int offset, int count, CancellationToken cancellationToken = default)
    {
        var all = new List<OutputItem>();
        const int Batch = 200;
        for (var skip = 0; skip < MaxBrowsedRuns;)
        {
            var before = all.Count;
            int listed, total;
            if (server is null)
            {
                var page = await runs.ListAsync(null, skip, Batch, cancellationToken);
                foreach (var r in page.Runs)
                    all.AddRange(OutputFiles(r.OutputsJson).Select(f => new OutputItem(r.Id, f, r.Workflow, r.Finished ?? r.Submitted)));
                (listed, total) = (page.Runs.Count, page.Total);
            }
            else
            {
                var page = await server.Client.ListRunsAsync(skip, Batch, cancellationToken: cancellationToken);
                foreach (var r in page.Runs)
                    all.AddRange(r.Outputs.Select(o => new OutputItem(r.Id, o.File, r.Workflow, r.Finished ?? r.Submitted ?? DateTimeOffset.MinValue)));
                (listed, total) = (page.Runs.Count, page.Total);
            }
            skip += listed;
            if (listed == 0 || skip >= total) break;
        }
        var result = OutputPage.Of(all, filter, offset, count);
        var items = new List<OutputItem>(result.Items.Count);
        foreach (var item in result.Items) items.Add(item with { Thumbnail = await ThumbnailAsync(item.RunId, item.File, cancellationToken) });
        return result with { Items = items };
    }

    /// <summary>A thumbnail of an output (see <see cref="Thumbnail"/>), fetched from the server when there is one.</summary>
    public async Task<string?> ThumbnailAsync(string runId, string file, CancellationToken cancellationToken = default) =>
        server is null ? Thumbnail(runId, file) : await RemoteThumbnailAsync(server, runId, new RunOutput(file, FlowDiffusion.Server.Api.RunJson.OutputUrl(runId, file)), cancellationToken);

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

    /// <summary>Output <paramref name="file"/> of run <paramref name="runId"/> at full size, as a data URL, fetched from the server when there is one; null when it is gone.</summary>
    public async Task<string?> FullAsync(string runId, string file, CancellationToken cancellationToken = default) =>
        server is null ? Full(runId, file) : ImageDataUrl.OfBytes(await FetchAsync(server, runId, file, cancellationToken), file);

    /// <summary>The server history comes from, or null when it is this process's.</summary>
    public RemoteServer? Server => server;

    /// <summary>The run as stored (workflow text and inputs included), or null.</summary>
    public Task<RunRecord?> GetAsync(string runId, CancellationToken cancellationToken = default) => runs.GetAsync(runId, cancellationToken);

    /// <summary>
    /// The graph run <paramref name="runId"/> ran and its input values, or null when the run is gone. From a server, the
    /// workflow text is the one this editor queued (the API does not serve it back); <see cref="RunGraph.Yaml"/> is null
    /// for a run queued elsewhere, whose graph its PNG output carries (<see cref="RunGraph.Png"/>).
    /// </summary>
    public async Task<RunGraph?> GraphAsync(string runId, CancellationToken cancellationToken = default)
    {
        if (server is null)
            return await runs.GetAsync(runId, cancellationToken) is { } record ? new RunGraph(record.Yaml, record.Workflow, record.InputsJson, null) : null;
        RunInfo run;
        try
        {
            run = await server.Client.GetRunAsync(runId, cancellationToken);
        }
        catch (FlowDiffusionApiException error) when (error.Status == HttpStatusCode.NotFound)
        {
            return null;
        }
        var inputs = run.Inputs is { ValueKind: JsonValueKind.Object } values ? values.GetRawText() : null;
        if (server.QueuedYaml(runId) is { } yaml) return new RunGraph(yaml, run.Workflow, inputs, null);
        var png = run.Outputs.FirstOrDefault(o => o.File.EndsWith(".png", StringComparison.OrdinalIgnoreCase));
        return new RunGraph(null, run.Workflow, inputs, png is null ? null : await server.Client.GetOutputAsync(png, cancellationToken));
    }

    /// <summary>Deletes a finished run and its outputs; false when it is missing or still queued or running.</summary>
    public async Task<bool> DeleteAsync(string runId, CancellationToken cancellationToken = default)
    {
        bool deleted;
        if (server is null)
        {
            deleted = await runs.DeleteAsync(runId, cancellationToken);
        }
        else
        {
            try
            {
                await server.Client.DeleteRunAsync(runId, cancellationToken);
                deleted = true;
            }
            catch (FlowDiffusionApiException error) when (error.Status is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
            {
                deleted = false;
            }
        }
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
        Keep(runId, file, made);
        return made;
    }

    private void Keep(string runId, string file, string? thumbnail)
    {
        lock (_gate)
        {
            if (_thumbnails.Count >= MaxKeptThumbnails) _thumbnails.Clear();
            _thumbnails[(runId, file)] = thumbnail;
        }
    }

    private async Task<(IReadOnlyList<HistoryEntry> Entries, int Total)> LoadFromServerAsync(RemoteServer remote, CancellationToken cancellationToken)
    {
        var page = await remote.Client.ListRunsAsync(0, PageSize, cancellationToken: cancellationToken);
        var entries = new List<HistoryEntry>();
        foreach (var run in page.Runs)
        {
            var outputs = new List<HistoryOutput>();
            foreach (var output in run.Outputs) outputs.Add(new HistoryOutput(output.File, await RemoteThumbnailAsync(remote, run.Id, output, cancellationToken)));
            entries.Add(new HistoryEntry(run.Id, RunStates.Parse(run.Status) ?? RunState.Failed, run.Workflow, run.Submitted ?? DateTimeOffset.MinValue,
                run.Started is { } started && run.Finished is { } finished ? finished - started : null, run.Error, outputs));
        }
        return (entries, page.Total);
    }

    // Fetched once per file (then kept like local ones); an output that is no image, or that cannot be fetched now, has none.
    private async Task<string?> RemoteThumbnailAsync(RemoteServer remote, string runId, RunOutput output, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_thumbnails.TryGetValue((runId, output.File), out var kept)) return kept;
        }
        if (!IsImage(output.File)) return null;
        byte[] bytes;
        try
        {
            bytes = await remote.Client.GetOutputAsync(output, cancellationToken);
        }
        catch (Exception error) when (RemoteServer.IsServerError(error) && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        var made = Make(bytes, output.File);
        Keep(runId, output.File, made);
        return made;
    }

    private static Task<byte[]> FetchAsync(RemoteServer remote, string runId, string file, CancellationToken cancellationToken) =>
        remote.Client.GetOutputAsync(new RunOutput(file, FlowDiffusion.Server.Api.RunJson.OutputUrl(runId, file)), cancellationToken);

    private static bool IsImage(string path) => path.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase)
                                                || path.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase);

    private static string? Make(string? path)
    {
        if (path is null || !IsImage(path) || !File.Exists(path)) return null;
        try
        {
            var (bytes, _) = ImageFile.Read(path, Path.GetFileName(path), ImageLimits.Default);
            return Make(bytes, path);
        }
        catch (Exception error) when (error is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException or TimeoutException)
        {
            return null;
        }
    }

    // Checked from the header within the default image limits before decoding, as files are.
    private static string? Make(byte[] bytes, string name)
    {
        try
        {
            ImageFile.Check(bytes, Path.GetFileName(name), ImageLimits.Default);
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
