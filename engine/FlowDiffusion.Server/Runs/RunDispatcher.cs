using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Workflows;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Server.Runs;

/// <summary>
/// The worker of the <see cref="EmbeddedRunBackend"/>: claims queued runs (priority, then submission order) under a
/// lease and executes them on the engine in this process, at most <see cref="ServerOptions.MaxConcurrentRuns"/> at once,
/// publishing each engine event once to the backend's event bus and renewing the lease while a run executes.
/// </summary>
/// <remarks>
/// One process per database: on start it takes the database's owner lock (<see cref="StoreOwnerLock"/>), so a second
/// process on the same file stops with an error naming the first instead of running its runs again.
/// Crash rule: holding the lock, every run still marked <c>running</c> was in flight when the previous owner died. A run
/// on its first attempt goes back to the queue (keeping its place); a run that was already re-queued once is marked
/// <c>interrupted</c> and not retried, so a workflow that kills the host cannot crash it forever. A graceful stop
/// cancels the runs in flight and re-queues them without counting the attempt. Whenever a run starts, the output store
/// removes whatever an earlier unfinished attempt left, so a re-run's outputs are exactly one set.
/// Lease expiry: every half lease the dispatcher takes back runs whose lease expired without a heartbeat (a worker that
/// hung or vanished) through <see cref="EmbeddedRunBackend.ReclaimExpiredAsync"/>: re-queued for a new attempt, or
/// interrupted after <see cref="ServerOptions.MaxAttempts"/>.
/// Retention: when <see cref="ServerOptions.RetentionDays"/> or <see cref="ServerOptions.MaxRuns"/> is set, finished
/// runs past either bound are deleted with their output folders at startup and every
/// <see cref="ServerOptions.RetentionSweepSeconds"/>.
/// </remarks>
public sealed class RunDispatcher : BackgroundService
{
    private readonly EmbeddedRunBackend _backend;
    private readonly FlowDiffusionEngine _engine;
    private readonly ServerOptions _options;
    private readonly ILogger<RunDispatcher> _logger;
    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<string, WorkflowRun> _active = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _cancelRequested = new(StringComparer.Ordinal);
    private readonly WarmUp? _warmUp;
    private StoreOwnerLock? _ownerLock;

    /// <summary>Creates the dispatcher.</summary>
    public RunDispatcher(EmbeddedRunBackend backend, FlowDiffusionEngine engine, IOptions<ServerOptions> options, ILogger<RunDispatcher> logger, WarmUp? warmUp = null)
    {
        _warmUp = warmUp;
        _backend = backend;
        _engine = engine;
        _options = options.Value;
        _logger = logger;
        _backend.Submitted += Notify;
        _backend.CancelRequested += OnCancelRequested;
    }

    /// <summary>
    /// Whether runs may read input files anywhere (the CLI's runs, started by its user on their own files); servers and
    /// the editor leave this false so file parameters resolve inside the configured input folders. Never from configuration.
    /// </summary>
    public bool AnyInputPath { get; init; }

    /// <summary>The folder relative path inputs of runs (a model, an image) resolve against.</summary>
    public string WorkingFolder => Path.GetFullPath(_options.WorkingFolder is { Length: > 0 } root ? root : Environment.CurrentDirectory);

    /// <summary>Wakes the dispatcher after a submission, so the run need not wait for the next poll.</summary>
    public void Notify() => _wake.Writer.TryWrite(true);

    /// <summary>Takes the database's owner lock, then starts claiming runs.</summary>
    /// <exception cref="InvalidOperationException">Another process executes runs from the same database.</exception>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (_backend.Store is SqliteRunStore sqlite) _ownerLock ??= StoreOwnerLock.Acquire(sqlite.DatabasePath);
        return base.StartAsync(cancellationToken);
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await base.StopAsync(cancellationToken);
        }
        finally
        {
            _ownerLock?.Dispose();
            _ownerLock = null;
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _backend.Submitted -= Notify;
        _backend.CancelRequested -= OnCancelRequested;
        _ownerLock?.Dispose();
        base.Dispose();
    }

    private void OnCancelRequested(string id)
    {
        _cancelRequested[id] = true;
        // Between the claim and the start the run is not in _active yet; ExecuteRunAsync checks _cancelRequested.
        if (_active.TryGetValue(id, out var active)) active.Cancel();
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(Math.Max(1, _options.MaxConcurrentRuns));
        var inFlight = new ConcurrentDictionary<string, Task>(StringComparer.Ordinal);
        var retention = Task.CompletedTask;
        if (!_options.ExecuteRuns)
        {
            _warmUp?.NotRun("this host executes no runs (a cluster's coordinator); its workers run them");
            await KeepRetentionAsync(stoppingToken);
            return;
        }
        try
        {
            await WhileDamagedAsync(async () =>
            {
                var recovered = await _backend.Store.RecoverAsync(stoppingToken);
                if (recovered.Requeued + recovered.Interrupted > 0)
                    _logger.LogWarning("Crash recovery: {Requeued} run(s) re-queued, {Interrupted} marked interrupted", recovered.Requeued, recovered.Interrupted);
                return true;
            }, stoppingToken);
            retention = Task.WhenAll(KeepRetentionAsync(stoppingToken), KeepReclaimingAsync(stoppingToken));
            // Runs submitted meanwhile wait in the queue; the warm-up never throws.
            if (_warmUp is not null) await _warmUp.RunAsync(_engine, WorkingFolder, AnyInputPath, stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                await slots.WaitAsync(stoppingToken);
                RunRecord? next;
                try
                {
                    next = await WhileDamagedAsync(() => _backend.ClaimAsync(_owner, stoppingToken), stoppingToken);
                }
                catch
                {
                    slots.Release();
                    throw;
                }
                if (next is null)
                {
                    slots.Release();
                    await WaitForWorkAsync(stoppingToken);
                    continue;
                }
                // Keyed by attempt: a newer attempt of the same run (its lease was taken back) may start before this one ends.
                var key = $"{next.Id}#{next.Attempts}";
                inFlight[key] = Task.Run(async () =>
                {
                    try
                    {
                        await ExecuteRunAsync(next, stoppingToken);
                    }
                    finally
                    {
                        inFlight.TryRemove(key, out _);
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

    // A damaged database must not end the host (the API then answers 503 saying how to recover, and /api/health
    // reports it): the dispatcher says so in the log and tries again every few seconds.
    private async Task<T> WhileDamagedAsync<T>(Func<Task<T>> body, CancellationToken stoppingToken)
    {
        var logged = false;
        while (true)
        {
            try
            {
                return await body();
            }
            catch (RunStoreDamagedException e)
            {
                if (!logged) _logger.LogError("{Error}", e.Message);
                logged = true;
                await Task.Delay(TimeSpan.FromSeconds(5), stoppingToken);
            }
        }
    }

    /// <summary>Deletes the finished runs that the retention settings no longer keep, with their output folders; returns how many.</summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset? before = _options.RetentionDays > 0 ? DateTimeOffset.UtcNow - TimeSpan.FromDays(_options.RetentionDays) : null;
        int? keep = _options.MaxRuns > 0 ? _options.MaxRuns : null;
        var pruned = await _backend.Store.PruneAsync(before, keep, cancellationToken);
        foreach (var id in pruned)
        {
            try
            {
                _backend.Outputs.Delete(id);
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

    private async Task KeepReclaimingAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromSeconds(Math.Max(0.05, _options.LeaseSeconds / 2));
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(period, stoppingToken);
                try
                {
                    var reclaimed = await _backend.ReclaimExpiredAsync(stoppingToken);
                    if (reclaimed.Requeued + reclaimed.Interrupted > 0)
                        _logger.LogWarning("Expired leases: {Requeued} run(s) re-queued, {Interrupted} interrupted after {Max} attempts", reclaimed.Requeued, reclaimed.Interrupted, _backend.MaxAttempts);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A failed sweep (the database busy or damaged) must not stop the dispatcher; the next one retries.
                    _logger.LogError(e, "Sweep of expired leases failed");
                }
            }
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
        var lease = record.Lease!;
        RunFinish finish;
        using var heartbeat = new CancellationTokenSource();
        var beating = Task.CompletedTask;
        WorkflowRun? active = null;
        try
        {
            var validation = _engine.Parse(record.Yaml, (record.Workflow ?? "workflow") + ".yaml", InputValues.FromJson(record.InputsJson), AnyInputPath);
            if (validation.Plan is null)
            {
                finish = new RunFinish(RunState.Failed, "[]", "[]", "the workflow is no longer valid: " + string.Join("; ", validation.Errors.Select(Api.FlowDiffusionApi.Text)));
            }
            else
            {
                var folder = _backend.Outputs.PrepareAttempt(id);
                if (record.Attempts > 1) _backend.Log(lease, $"attempt {record.Attempts}: an earlier attempt did not finish; its files were removed");
                var run = _engine.Start(validation.Plan, new RunOptions
                {
                    RunId = id, OutputDirectory = folder, WorkingDirectory = WorkingFolder, Targets = record.Targets ?? [], AnyInputPath = AnyInputPath,
                }, collectEvents: true, CancellationToken.None);
                active = run;
                _active[id] = run;
                if (_cancelRequested.ContainsKey(id)) run.Cancel();
                beating = KeepLeaseAsync(lease, run, heartbeat.Token);
                using (stoppingToken.Register(run.Cancel))
                {
                    // The engine's own end events are not passed on: run_ended comes from the stored record, for every subscriber alike.
                    await foreach (var item in run.ReadEventsAsync(CancellationToken.None))
                    {
                        if (item is not (RunFinished or RunFailed or RunCancelled)) _backend.Publish(lease, item);
                    }
                }
                var result = await run.Completion;
                if (stoppingToken.IsCancellationRequested && result.Status == RunStatus.Cancelled && !_cancelRequested.ContainsKey(id))
                {
                    await StopBeatingAsync(heartbeat, beating);
                    await _backend.ReleaseAsync(lease, "re-queued: the host is stopping", CancellationToken.None);
                    _logger.LogInformation("Run {Id} re-queued: the host is stopping", id);
                    return;
                }
                var outputs = await _backend.Outputs.CommitAsync(id, result.OutputFiles, CancellationToken.None);
                finish = new RunFinish(State(result.Status), NodeTimingJson.Write(result.Nodes).ToJsonString(),
                    new JsonArray(outputs.Select(f => (JsonNode)JsonValue.Create(f)).ToArray()).ToJsonString(), result.Error);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogError(e, "Run {Id} failed outside the engine", id);
            finish = new RunFinish(RunState.Failed, "[]", "[]", e.Message);
        }
        finally
        {
            if (active is not null) _active.TryRemove(KeyValuePair.Create(id, active));
        }
        await StopBeatingAsync(heartbeat, beating);
        try
        {
            if (!await _backend.CompleteAsync(lease, finish, CancellationToken.None))
                _logger.LogWarning("Run {Id} attempt {Attempt}: the result was refused, the run has moved on (its lease was lost)", id, lease.Attempt);
        }
        finally
        {
            _cancelRequested.TryRemove(id, out _);
        }
    }

    // The heartbeat: renews the lease every third of its length; a cancel asked for elsewhere, or a lost lease, stops the run.
    private async Task KeepLeaseAsync(RunLease lease, WorkflowRun run, CancellationToken stop)
    {
        var period = TimeSpan.FromSeconds(Math.Max(0.05, _options.LeaseSeconds / 3));
        try
        {
            while (true)
            {
                await Task.Delay(period, stop);
                LeaseRenewal renewal;
                try
                {
                    renewal = await _backend.HeartbeatAsync(lease, stop);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A failed heartbeat (the database busy or damaged) must not stop the run; the next one retries.
                    _logger.LogWarning(e, "Run {Id}: heartbeat failed", lease.RunId);
                    continue;
                }
                if (renewal == LeaseRenewal.Held) continue;
                if (renewal == LeaseRenewal.CancelRequested) _cancelRequested[lease.RunId] = true;
                else _logger.LogWarning("Run {Id} attempt {Attempt}: lease lost; stopping it", lease.RunId, lease.Attempt);
                run.Cancel();
                return;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static async Task StopBeatingAsync(CancellationTokenSource heartbeat, Task beating)
    {
        await heartbeat.CancelAsync();
        await beating;
    }

    private static RunState State(RunStatus status) => status switch
    {
        RunStatus.Completed => RunState.Completed,
        RunStatus.Cancelled => RunState.Cancelled,
        _ => RunState.Failed,
    };
}
