using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Server.Runs;

/// <summary>
/// Takes queued runs from the <see cref="IRunStore"/> (priority, then submission order) and executes them on the
/// engine, at most <see cref="ServerOptions.MaxConcurrentRuns"/> at once.
/// </summary>
/// <remarks>
/// Crash rule: on startup every run still marked <c>running</c> was in flight when the previous host died. A run
/// on its first attempt goes back to the queue (keeping its place); a run that was already re-queued once is marked
/// <c>interrupted</c> and not retried, so a workflow that kills the host cannot crash it forever. A graceful stop
/// cancels the runs in flight and re-queues them without counting the attempt. Whenever a run starts, whatever an
/// earlier unfinished attempt left in its output folder is removed first, so a re-run's outputs are exactly one set.
/// Retention: when <see cref="ServerOptions.RetentionDays"/> or <see cref="ServerOptions.MaxRuns"/> is set, finished
/// runs past either bound are deleted with their output folders at startup and every
/// <see cref="ServerOptions.RetentionSweepSeconds"/>.
/// </remarks>
public sealed class RunDispatcher : BackgroundService
{
    private readonly IRunStore _store;
    private readonly FlowDiffusionEngine _engine;
    private readonly ServerOptions _options;
    private readonly ILogger<RunDispatcher> _logger;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<string, RunFeed> _feeds = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, WorkflowRun> _active = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _cancelRequested = new(StringComparer.Ordinal);

    /// <summary>Creates the dispatcher.</summary>
    public RunDispatcher(IRunStore store, FlowDiffusionEngine engine, IOptions<ServerOptions> options, ILogger<RunDispatcher> logger)
    {
        _store = store;
        _engine = engine;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>The folder relative path inputs of runs (a model, an image) resolve against.</summary>
    public string WorkingFolder => Path.GetFullPath(_options.WorkingFolder is { Length: > 0 } root ? root : Environment.CurrentDirectory);

    /// <summary>The folder a run writes its files to.</summary>
    public string RunFolder(string id) => Path.Combine(Path.GetFullPath(_engine.Options.OutputFolder), id);

    /// <summary>Wakes the dispatcher after a submission, so the run need not wait for the next poll.</summary>
    public void Notify() => _wake.Writer.TryWrite(true);

    /// <summary>The live event feed of a run executing now, or null.</summary>
    public RunFeed? Feed(string id) => _feeds.GetValueOrDefault(id);

    /// <summary>Cancels a queued or running run; false when it is neither.</summary>
    public async Task<bool> CancelAsync(string id, CancellationToken cancellationToken)
    {
        if (await _store.CancelQueuedAsync(id, cancellationToken)) return true;
        var run = await _store.GetAsync(id, cancellationToken);
        if (run?.Status != RunState.Running) return false;
        _cancelRequested[id] = true;
        // Between the claim and the start the run is not in _active yet; ExecuteRunAsync checks _cancelRequested.
        if (_active.TryGetValue(id, out var active)) active.Cancel();
        return true;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var recovered = await _store.RecoverAsync(stoppingToken);
        if (recovered.Requeued + recovered.Interrupted > 0)
            _logger.LogWarning("Crash recovery: {Requeued} run(s) re-queued, {Interrupted} marked interrupted", recovered.Requeued, recovered.Interrupted);
        var retention = KeepRetentionAsync(stoppingToken);
        using var slots = new SemaphoreSlim(Math.Max(1, _options.MaxConcurrentRuns));
        var inFlight = new ConcurrentDictionary<string, Task>(StringComparer.Ordinal);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await slots.WaitAsync(stoppingToken);
                var next = await _store.ClaimNextAsync(stoppingToken);
                if (next is null)
                {
                    slots.Release();
                    await WaitForWorkAsync(stoppingToken);
                    continue;
                }
                inFlight[next.Id] = Task.Run(async () =>
                {
                    try
                    {
                        await ExecuteRunAsync(next, stoppingToken);
                    }
                    finally
                    {
                        inFlight.TryRemove(next.Id, out _);
                        slots.Release();
                    }
                }, CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: fall through and let the runs in flight wind down.
        }
        await Task.WhenAll(inFlight.Values);
        await retention;
    }

    /// <summary>Deletes the finished runs that the retention settings no longer keep, with their output folders; returns how many.</summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset? before = _options.RetentionDays > 0 ? DateTimeOffset.UtcNow - TimeSpan.FromDays(_options.RetentionDays) : null;
        int? keep = _options.MaxRuns > 0 ? _options.MaxRuns : null;
        var pruned = await _store.PruneAsync(before, keep, cancellationToken);
        foreach (var id in pruned)
        {
            try
            {
                var folder = RunFolder(id);
                if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _logger.LogWarning(e, "Retention: the output folder of run {Id} could not be deleted", id);
            }
        }
        if (pruned.Count > 0) _logger.LogInformation("Retention: deleted {Count} finished run(s)", pruned.Count);
        return pruned.Count;
    }

    private async Task KeepRetentionAsync(CancellationToken stoppingToken)
    {
        if (_options.RetentionDays <= 0 && _options.MaxRuns <= 0) return;
        var period = TimeSpan.FromSeconds(Math.Max(0.05, _options.RetentionSweepSeconds));
        try
        {
            do
            {
                try
                {
                    await PruneAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A failed sweep must not stop the dispatcher; the next one retries.
                    _logger.LogError(e, "Retention sweep failed");
                }
                await Task.Delay(period, stoppingToken);
            }
            while (!stoppingToken.IsCancellationRequested);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task WaitForWorkAsync(CancellationToken stoppingToken)
    {
        // The poll bounds the wait when a submission's wake-up is lost (another process, a full wake channel).
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        poll.CancelAfter(TimeSpan.FromSeconds(1));
        try
        {
            await _wake.Reader.ReadAsync(poll.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task ExecuteRunAsync(RunRecord record, CancellationToken stoppingToken)
    {
        var id = record.Id;
        var feed = _feeds.GetOrAdd(id, _ => new RunFeed());
        RunEvent? final = null;
        RunFinish finish;
        try
        {
            var validation = _engine.Parse(record.Yaml, (record.Workflow ?? "workflow") + ".yaml", InputValues.FromJson(record.InputsJson));
            if (validation.Plan is null)
            {
                var error = "the workflow is no longer valid: " + string.Join("; ", validation.Errors);
                finish = new RunFinish(RunState.Failed, "[]", "[]", error);
                final = new RunFailed(id, DateTimeOffset.UtcNow, error, null);
            }
            else
            {
                ClearEarlierAttempt(record);
                var run = _engine.Start(validation.Plan, new RunOptions { RunId = id, OutputDirectory = RunFolder(id), WorkingDirectory = WorkingFolder }, collectEvents: true, CancellationToken.None);
                _active[id] = run;
                if (_cancelRequested.ContainsKey(id)) run.Cancel();
                using (stoppingToken.Register(run.Cancel))
                {
                    await foreach (var item in run.ReadEventsAsync(CancellationToken.None))
                    {
                        // The final event waits until the store says so, so a client reacting to it reads the final state.
                        if (item is RunFinished or RunFailed or RunCancelled) final = item;
                        else feed.Publish(item);
                    }
                }
                var result = await run.Completion;
                if (stoppingToken.IsCancellationRequested && result.Status == RunStatus.Cancelled && !_cancelRequested.ContainsKey(id))
                {
                    await _store.RequeueAsync(id, CancellationToken.None);
                    _logger.LogInformation("Run {Id} re-queued: the host is stopping", id);
                    return;
                }
                finish = new RunFinish(State(result.Status), NodesJson(result), OutputsJson(id, result), result.Error);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogError(e, "Run {Id} failed outside the engine", id);
            finish = new RunFinish(RunState.Failed, "[]", "[]", e.Message);
            final = new RunFailed(id, DateTimeOffset.UtcNow, e.Message, null);
        }
        finally
        {
            _active.TryRemove(id, out _);
        }
        try
        {
            await _store.FinishAsync(id, finish, CancellationToken.None);
        }
        finally
        {
            if (final is not null) feed.Publish(final);
            feed.Complete();
            _feeds.TryRemove(id, out _);
            _cancelRequested.TryRemove(id, out _);
        }
    }

    private void ClearEarlierAttempt(RunRecord record)
    {
        int removed;
        try
        {
            removed = StaleOutputs.Clear(_engine.Options.OutputFolder, record.Id);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Running on would leave the earlier attempt's files beside this one's, so the run fails instead, saying where.
            throw new IOException($"the files of an earlier attempt in {RunFolder(record.Id)} could not be removed: {e.Message}", e);
        }
        if (removed > 0)
            _logger.LogWarning("Run {Id} (attempt {Attempt}): removed {Count} file(s) an unfinished earlier attempt left in its output folder", record.Id, record.Attempts, removed);
    }

    private static RunState State(RunStatus status) => status switch
    {
        RunStatus.Completed => RunState.Completed,
        RunStatus.Cancelled => RunState.Cancelled,
        _ => RunState.Failed,
    };

    private static string NodesJson(RunResult result) => new JsonArray(result.Nodes.Select(n => (JsonNode)new JsonObject
    {
        ["node"] = n.NodeId,
        ["type"] = n.NodeType,
        ["duration_ms"] = Math.Round(n.Duration.TotalMilliseconds, 3),
        ["cached"] = n.Cached,
    }).ToArray()).ToJsonString();

    private string OutputsJson(string id, RunResult result)
    {
        var folder = RunFolder(id);
        return new JsonArray(result.OutputFiles
            .Select(f => Path.GetRelativePath(folder, Path.GetFullPath(f, folder)).Replace('\\', '/'))
            .Where(f => !f.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(f))
            .Select(f => (JsonNode)JsonValue.Create(f)).ToArray()).ToJsonString();
    }
}
