using System.Collections.Concurrent;
using FlowDiffusion.Cluster.Dispatch;
using FlowDiffusion.Cluster.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace FlowDiffusion.Cluster.Worker;

/// <summary>
/// <c>flowdiffusion worker</c>'s heart: one pull-based claim loop per slot (<see cref="ScaleOutOptions.Slots"/>). A slot
/// asks the dispatcher for a run with its capabilities, executes it on its own thread, sends its events with each
/// heartbeat (progress renews the lease), stops it when the heartbeat says cancelled or lost, sends its output files in
/// chunks (or puts them in the shared output store, <see cref="ScaleOutOptions.OutputStore"/>) and completes it. On shutdown a slot cancels its run and gives it back without counting the attempt.
/// </summary>
public sealed class ClusterWorker : BackgroundService
{
    private readonly IGrainFactory _grains;
    private readonly ILocalSiloDetails _silo;
    private readonly IRunExecutor _executor;
    private readonly ScaleOutOptions _options;
    private readonly ILogger<ClusterWorker> _logger;
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-worker-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>Creates the worker.</summary>
    public ClusterWorker(IGrainFactory grains, ILocalSiloDetails silo, IRunExecutor executor, IOptions<ScaleOutOptions> options, ILogger<ClusterWorker> logger)
    {
        _grains = grains;
        _silo = silo;
        _executor = executor;
        _options = options.Value;
        _logger = logger;
    }

    private IDispatchGrain Dispatcher => _grains.GetGrain<IDispatchGrain>(0);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var name = _options.WorkerName is { Length: > 0 } given ? given : Environment.MachineName;
        var slots = Math.Max(1, _options.Slots);
        try
        {
            // Before the first claim, so the first run finds the warmed model loaded (FlowDiffusion:Server:WarmUp).
            var warmed = await _executor.WarmUpAsync(stoppingToken);
            await Task.WhenAll(Enumerable.Range(0, slots).Select(i => Task.Run(() => SlotAsync(WorkerId.Of(_silo.SiloAddress.ToParsableString(), name, i), slots, warmed, stoppingToken), CancellationToken.None)));
        }
        finally
        {
            if (Directory.Exists(_scratch)) Directory.Delete(_scratch, recursive: true);
        }
    }

    private async Task SlotAsync(string worker, int slots, string? loaded, CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromSeconds(Math.Max(0.02, _options.ClaimPollSeconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            ClaimedRun? run;
            try
            {
                run = await Dispatcher.ClaimAsync(_executor.Describe(worker, loaded, slots));
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // The coordinator restarting or unreachable: keep asking.
                _logger.LogWarning("Slot {Worker}: claim failed ({Error}); retrying", worker, e.Message);
                run = null;
            }
            if (run is null)
            {
                await Delay(poll, stoppingToken);
                continue;
            }
            await ExecuteAsync(run, stoppingToken);
            loaded = run.Model ?? loaded;
        }
        try
        {
            await Dispatcher.LeaveAsync(worker);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogDebug("Slot {Worker}: could not say goodbye ({Error})", worker, e.Message);
        }
    }

    private async Task ExecuteAsync(ClaimedRun run, CancellationToken stoppingToken)
    {
        var ticket = run.Ticket;
        var folder = Path.Combine(_scratch, $"{ticket.RunId}-{ticket.Attempt}");
        Directory.CreateDirectory(folder);
        var pending = new ConcurrentQueue<WireEvent>();
        using var stop = new CancellationTokenSource();
        using var beat = new CancellationTokenSource();
        var answer = LeaseAnswer.Held;
        var heartbeat = Task.Run(async () =>
        {
            var period = TimeSpan.FromSeconds(Math.Max(0.05, _options.HeartbeatSeconds));
            while (!beat.IsCancellationRequested)
            {
                await Delay(period, beat.Token);
                if (beat.IsCancellationRequested) return;
                var sent = await SendAsync(ticket, pending);
                if (sent is LeaseAnswer.CancelRequested or LeaseAnswer.Lost)
                {
                    answer = sent.Value;
                    await stop.CancelAsync();
                    return;
                }
            }
        }, CancellationToken.None);
        ExecutedRun result;
        try
        {
            using (stoppingToken.Register(stop.Cancel))
                result = await Task.Run(() => _executor.ExecuteAsync(run, folder, pending.Enqueue, stop.Token), CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            result = new ExecutedRun("failed", "[]", [], e.Message);
        }
        await beat.CancelAsync();
        await heartbeat;
        try
        {
            if (answer == LeaseAnswer.Lost)
            {
                _logger.LogWarning("Run {Id} attempt {Attempt}: lease lost; its result is dropped", ticket.RunId, ticket.Attempt);
                return;
            }
            if (await SendAsync(ticket, pending) == LeaseAnswer.Lost) return;
            if (stoppingToken.IsCancellationRequested && answer != LeaseAnswer.CancelRequested)
            {
                await Dispatcher.ReleaseAsync(ticket, "re-queued: its worker is stopping");
                return;
            }
            if (!await ReportAsync(ticket, folder, result))
                _logger.LogWarning("Run {Id} attempt {Attempt}: the coordinator refused the result (the run moved on)", ticket.RunId, ticket.Attempt);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The lease then expires and the dispatcher re-queues the run.
            _logger.LogError(e, "Run {Id} attempt {Attempt}: could not report the end", ticket.RunId, ticket.Attempt);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    // Sends the outputs and the end. A coordinator that is restarting cannot take them now, but its successor can while the
    // lease lasts (the store keeps it), so the finished work is offered again until then rather than run a second time.
    private async Task<bool> ReportAsync(LeaseTicket ticket, string folder, ExecutedRun result)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(Math.Max(0.5, _options.LeaseSeconds));
        var retry = TimeSpan.FromSeconds(Math.Clamp(_options.HeartbeatSeconds, 0.05, 1));
        while (true)
        {
            try
            {
                WorkerFinish finish;
                if (_options.OutputStore is { Length: > 0 } shared)
                {
                    try
                    {
                        finish = new WorkerFinish(result.Status, result.NodesJson, await SharedOutputFolder.PlaceAsync(shared, ticket, folder, result.Files, CancellationToken.None),
                            result.Error, InSharedStore: true);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        finish = new WorkerFinish("failed", result.NodesJson, [], $"the outputs could not be written to the shared output store {shared}: {e.Message}");
                    }
                }
                else
                {
                    var files = await UploadAsync(ticket, folder, result.Files);
                    finish = files is null
                        ? new WorkerFinish("failed", result.NodesJson, [], "the output files could not be sent to the coordinator")
                        : new WorkerFinish(result.Status, result.NodesJson, files, result.Error);
                }
                return await Dispatcher.CompleteAsync(ticket, finish);
            }
            catch (Exception e) when (e is not OutOfMemoryException && DateTimeOffset.UtcNow + retry < deadline)
            {
                _logger.LogWarning("Run {Id} attempt {Attempt}: the coordinator did not take the result ({Error}); retrying", ticket.RunId, ticket.Attempt, e.Message);
                await Task.Delay(retry);
            }
        }
    }

    // Sends the events gathered since the last heartbeat (the heartbeat itself when none); null when the call failed.
    private async Task<LeaseAnswer?> SendAsync(LeaseTicket ticket, ConcurrentQueue<WireEvent> pending)
    {
        var batch = new List<WireEvent>();
        while (batch.Count < 256 && pending.TryDequeue(out var item)) batch.Add(item);
        try
        {
            return await Dispatcher.HeartbeatAsync(ticket, [.. batch]);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogWarning("Run {Id}: heartbeat failed ({Error})", ticket.RunId, e.Message);
            return null;
        }
    }

    // Files travel in chunks (Orleans messages are capped); returns their names relative to the folder, or null when refused.
    private async Task<string[]?> UploadAsync(LeaseTicket ticket, string folder, IReadOnlyList<string> files)
    {
        var names = new List<string>();
        var buffer = new byte[Math.Clamp(_options.OutputChunkBytes, 4096, 4 << 20)];
        foreach (var file in files)
        {
            var name = Path.GetRelativePath(folder, file).Replace('\\', '/');
            if (name.StartsWith("..", StringComparison.Ordinal) || !File.Exists(file)) continue;
            await using var stream = File.OpenRead(file);
            long offset = 0;
            do
            {
                var read = await stream.ReadAsync(buffer);
                if (!await Dispatcher.WriteOutputAsync(ticket, name, offset, buffer[..read])) return null;
                offset += read;
            }
            while (offset < stream.Length);
            names.Add(name);
        }
        return [.. names];
    }

    private static async Task Delay(TimeSpan period, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(period, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
