using System.Text.Json.Nodes;
using FlowDiffusion.Cluster.Hosting;
using FlowDiffusion.Cluster.Routing;
using FlowDiffusion.Server.Runs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace FlowDiffusion.Cluster.Dispatch;

/// <summary>
/// The one dispatcher (<see cref="IDispatchGrain"/>), on the coordinator silo beside the run store, event bus and output
/// store. It hands runs to slots by <see cref="ClaimPolicy"/>, forwards their events to the bus, collects their output
/// files, and re-queues the runs of workers that died (their silo declared dead by Orleans membership) or stopped
/// answering (lease expired), up to <see cref="ScaleOutOptions.MaxAttempts"/> attempts.
/// </summary>
internal sealed class DispatchGrain : Grain, IDispatchGrain
{
    private const int QueueWindow = 500;
    private const int MaxChunkBytes = 4 << 20;
    private readonly IRunStore _store;
    private readonly RunEventBus _bus;
    private readonly IOutputStore _outputs;
    private readonly RunRequirementsReader _reader;
    private readonly IClusterMembershipService _membership;
    private readonly ScaleOutOptions _options;
    private readonly ILogger<DispatchGrain> _logger;
    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RunRequirements> _needs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int Attempt, string Folder)> _attemptFolders = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _begun = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _waitReasons = new(StringComparer.Ordinal);
    private DateTimeOffset _nextLeaseCheck;
    private MembershipVersion _seenMembership = MembershipVersion.MinValue;

    public DispatchGrain(IRunStore store, RunEventBus bus, IOutputStore outputs, RunRequirementsReader reader, IClusterMembershipService membership,
        IOptions<ScaleOutOptions> options, ILogger<DispatchGrain> logger)
    {
        _store = store;
        _bus = bus;
        _outputs = outputs;
        _reader = reader;
        _membership = membership;
        _options = options.Value;
        _logger = logger;
    }

    private TimeSpan LeaseDuration => TimeSpan.FromSeconds(Math.Max(0.5, _options.LeaseSeconds));

    // A slot counts as idle (about to ask again) for a few of its polls after its last empty-handed claim.
    private TimeSpan IdleWindow => TimeSpan.FromSeconds(Math.Max(0.05, _options.ClaimPollSeconds) * 4 + 0.5);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var period = TimeSpan.FromSeconds(Math.Max(0.05, _options.SweepSeconds));
        this.RegisterGrainTimer(SweepAsync, new GrainTimerCreationOptions(period, period) { KeepAlive = true });
        return Task.CompletedTask;
    }

    public Task WakeAsync() => Task.CompletedTask;

    public async Task<ClaimedRun?> ClaimAsync(WorkerCapabilities capabilities)
    {
        var now = DateTimeOffset.UtcNow;
        _slots[capabilities.Worker] = new Slot(capabilities, now, null);
        var queue = await QueueAsync();
        var others = _slots.Values
            .Where(s => s.Running is null && s.Capabilities.Worker != capabilities.Worker && now - s.LastSeen < IdleWindow)
            .Select(s => s.Capabilities)
            .ToList();
        var decision = ClaimPolicy.Choose(capabilities, queue, others, affinity: _options.Routing != RoutingModes.RoundRobin);
        if (decision.Run is not { } chosen) return null;
        var record = await _store.ClaimAsync(chosen.Id, capabilities.Worker, LeaseDuration, CancellationToken.None);
        if (record?.Lease is not { } lease) return null;
        _waitReasons.Remove(record.Id);
        _slots[capabilities.Worker] = new Slot(capabilities, now, record.Id);
        Begin(record.Id, lease.Attempt);
        _bus.Log(record.Id, $"attempt {lease.Attempt} on {capabilities.Worker} ({decision.Reason})");
        _logger.LogInformation("Run {Id} attempt {Attempt} → {Worker} model {Model} ({Reason})", record.Id, lease.Attempt, capabilities.Worker, chosen.Needs.Model ?? "none", decision.Reason);
        return new ClaimedRun(new LeaseTicket(record.Id, lease.Attempt, lease.Owner), record.Yaml, record.InputsJson ?? "{}", record.Workflow, chosen.Needs.Model);
    }

    public async Task<LeaseAnswer> HeartbeatAsync(LeaseTicket ticket, WireEvent[] events)
    {
        var renewal = await _store.RenewAsync(ticket.Lease, LeaseDuration, CancellationToken.None);
        if (renewal == LeaseRenewal.Lost) return LeaseAnswer.Lost;
        Touch(ticket);
        Begin(ticket.RunId, ticket.Attempt);
        foreach (var item in events)
        {
            if (item.Kind == WireEvents.LogKind) _bus.Log(ticket.RunId, item.Text ?? "");
            else if (WireEvents.FromWire(ticket.RunId, item) is { } engineEvent) _bus.Publish(ticket.RunId, engineEvent);
        }
        return renewal == LeaseRenewal.CancelRequested ? LeaseAnswer.CancelRequested : LeaseAnswer.Held;
    }

    public async Task<bool> WriteOutputAsync(LeaseTicket ticket, string file, long offset, byte[] chunk)
    {
        if (chunk.Length > MaxChunkBytes || offset < 0) return false;
        if (await _store.RenewAsync(ticket.Lease, LeaseDuration, CancellationToken.None) == LeaseRenewal.Lost) return false;
        Touch(ticket);
        var folder = AttemptFolder(ticket);
        if (Contained(folder, file) is not { } path) return false;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var stream = new FileStream(path, offset == 0 ? FileMode.Create : FileMode.Open, FileAccess.Write);
        if (stream.Length != offset) return false;
        stream.Position = offset;
        await stream.WriteAsync(chunk);
        return true;
    }

    public async Task<bool> CompleteAsync(LeaseTicket ticket, WorkerFinish finish)
    {
        // Checked before the files are committed: a stale attempt must not touch the run's outputs.
        if (await _store.RenewAsync(ticket.Lease, LeaseDuration, CancellationToken.None) == LeaseRenewal.Lost)
        {
            _logger.LogWarning("Run {Id}: refused the result of attempt {Attempt} from {Worker}; the run has moved on", ticket.RunId, ticket.Attempt, ticket.Owner);
            if (finish.InSharedStore && _options.OutputStore is { Length: > 0 } shared) SharedOutputFolder.Discard(shared, ticket);
            return false;
        }
        FreeSlot(ticket.Owner);
        var status = RunStates.Parse(finish.Status) is { } parsed && parsed.IsFinal() ? parsed : RunState.Failed;
        IReadOnlyList<string> names = [];
        var error = finish.Error;
        if (finish.InSharedStore)
        {
            (names, var refusal) = await TakeSharedAsync(ticket, finish.Files);
            if (refusal is not null) (status, error) = (RunState.Failed, refusal);
        }
        else if (finish.Files.Length > 0)
        {
            var folder = AttemptFolder(ticket);
            var paths = finish.Files.Select(f => Contained(folder, f)).ToList();
            if (paths.Any(p => p is null || !File.Exists(p)))
            {
                status = RunState.Failed;
                error = "the worker reported output files it did not send";
            }
            else
            {
                names = await _outputs.CommitAsync(ticket.RunId, paths!, CancellationToken.None);
            }
        }
        var outputs = new JsonArray([.. names.Select(n => (JsonNode)JsonValue.Create(n))]).ToJsonString();
        if (!await _store.FinishAsync(ticket.Lease, new RunFinish(status, finish.NodesJson, outputs, error), CancellationToken.None)) return false;
        _attemptFolders.Remove(ticket.RunId);
        End(ticket.RunId, await _store.GetAsync(ticket.RunId, CancellationToken.None));
        return true;
    }

    // Moves an accepted attempt's files from its inbox in the shared store into the output store (a rename when both are on
    // the share); returns the committed names, or why the run fails instead.
    private async Task<(IReadOnlyList<string> Names, string? Refusal)> TakeSharedAsync(LeaseTicket ticket, string[] files)
    {
        if (_options.OutputStore is not { Length: > 0 } shared)
            return ([], $"the worker {ticket.Owner} put its outputs in a shared output store, but this coordinator has none (set {ScaleOutOptions.Section}:OutputStore to the same share)");
        var inbox = SharedOutputFolder.Inbox(shared, ticket);
        try
        {
            var sources = files.Select(f => Contained(inbox, f)).ToList();
            // A link would make the output store serve whatever it points at.
            if (sources.Any(p => p is null || !File.Exists(p) || new FileInfo(p).LinkTarget is not null))
                return ([], $"the worker reported output files that are not plain files in {inbox}");
            var folder = AttemptFolder(ticket);
            var paths = new List<string>();
            for (var i = 0; i < files.Length; i++)
            {
                var target = Contained(folder, files[i])!;
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Move(sources[i]!, target, overwrite: true);
                paths.Add(target);
            }
            _bus.Log(ticket.RunId, $"outputs: {files.Length} file(s) from the shared output store");
            return (await _outputs.CommitAsync(ticket.RunId, paths, CancellationToken.None), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ([], $"the outputs in {inbox} could not be moved into the output store: {e.Message}");
        }
        finally
        {
            SharedOutputFolder.Discard(shared, ticket);
        }
    }

    public async Task<bool> ReleaseAsync(LeaseTicket ticket, string reason)
    {
        FreeSlot(ticket.Owner);
        if (!await _store.RequeueAsync(ticket.Lease, CancellationToken.None)) return false;
        _begun.Remove(ticket.RunId);
        _bus.Requeued(ticket.RunId, reason);
        return true;
    }

    public Task LeaveAsync(string worker)
    {
        _slots.Remove(worker);
        return Task.CompletedTask;
    }

    public async Task<string?> WhyWaitingAsync(string runId)
    {
        var queue = await QueueAsync();
        return queue.FirstOrDefault(r => r.Id == runId) is { } run ? WhyWaiting(run) : null;
    }

    // Dead silos (membership) and expired leases: their runs go back to the queue, or fail after MaxAttempts.
    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        try
        {
            var snapshot = _membership.CurrentSnapshot;
            var now = DateTimeOffset.UtcNow;
            if (snapshot.Version == _seenMembership && now < _nextLeaseCheck) return;
            _seenMembership = snapshot.Version;
            _nextLeaseCheck = now + TimeSpan.FromSeconds(1);
            var dead = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead).Select(m => m.SiloAddress.ToParsableString()).ToHashSet(StringComparer.Ordinal);
            foreach (var worker in _slots.Keys.Where(w => dead.Contains(WorkerId.Silo(w))).ToList()) _slots.Remove(worker);
            var running = await _store.ListAsync(RunState.Running, 0, QueueWindow, cancellationToken);
            foreach (var run in running.Runs)
            {
                if (run.Lease is not { } lease) continue;
                var reason = dead.Contains(WorkerId.Silo(lease.Owner)) ? $"its worker {lease.Owner} died (its silo was declared dead)"
                    : lease.Expires < now ? $"its worker {lease.Owner} stopped answering (its lease expired)"
                    : null;
                if (reason is not null) await AbandonAsync(lease, reason);
            }
            await ExplainWaitsAsync(now);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _logger.LogError(e, "Dispatcher sweep failed; the next one retries");
        }
    }

    private async Task AbandonAsync(RunLease lease, string reason)
    {
        FreeSlot(lease.Owner);
        var state = await _store.AbandonAsync(lease, Math.Max(1, _options.MaxAttempts), reason, CancellationToken.None);
        _attemptFolders.Remove(lease.RunId);
        _begun.Remove(lease.RunId);
        if (state == RunState.Queued)
        {
            _logger.LogWarning("Run {Id} attempt {Attempt} re-queued: {Reason}", lease.RunId, lease.Attempt, reason);
            _bus.Requeued(lease.RunId, "re-queued: " + reason);
        }
        else if (state == RunState.Failed)
        {
            _logger.LogWarning("Run {Id} failed after attempt {Attempt}: {Reason}", lease.RunId, lease.Attempt, reason);
            End(lease.RunId, await _store.GetAsync(lease.RunId, CancellationToken.None));
        }
    }

    // A queued run says why it waits, once per change, on its event stream.
    private async Task ExplainWaitsAsync(DateTimeOffset now)
    {
        var queue = await QueueAsync();
        var ids = queue.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _waitReasons.Keys.Where(k => !ids.Contains(k)).ToList()) _waitReasons.Remove(gone);
        foreach (var id in _needs.Keys.Where(k => !ids.Contains(k)).ToList()) _needs.Remove(id);
        foreach (var stale in _slots.Where(s => s.Value.Running is null && now - s.Value.LastSeen > IdleWindow * 4).Select(s => s.Key).ToList()) _slots.Remove(stale);
        foreach (var run in queue)
        {
            var reason = WhyWaiting(run);
            if (_waitReasons.TryGetValue(run.Id, out var said) && said == reason) continue;
            _waitReasons[run.Id] = reason;
            _bus.Log(run.Id, "waiting: " + reason);
        }
    }

    private string WhyWaiting(WaitingRun run) =>
        ClaimPolicy.WhyWaiting(run, [.. _slots.Values.Select(s => s.Capabilities)], _slots.Values.Count(s => s.Running is not null));

    private async Task<List<WaitingRun>> QueueAsync()
    {
        var first = await _store.ListAsync(RunState.Queued, 0, 1, CancellationToken.None);
        // Pages are newest first; the window is the oldest runs, the ones due first.
        var page = await _store.ListAsync(RunState.Queued, Math.Max(0, first.Total - QueueWindow), QueueWindow, CancellationToken.None);
        var queue = new List<WaitingRun>(page.Runs.Count);
        foreach (var run in page.Runs)
        {
            if (!_needs.TryGetValue(run.Id, out var needs))
            {
                if (await _store.GetAsync(run.Id, CancellationToken.None) is not { } full) continue;
                _needs[run.Id] = needs = _reader.Read(full.Yaml, full.InputsJson, full.Workflow);
            }
            queue.Add(new WaitingRun(run.Id, run.Priority, run.Submitted.UtcTicks, needs));
        }
        return queue;
    }

    private void Begin(string runId, int attempt)
    {
        if (_begun.TryGetValue(runId, out var begun) && begun == attempt) return;
        _begun[runId] = attempt;
        _bus.Begin(runId, attempt);
    }

    private void End(string runId, RunRecord? record)
    {
        _begun.Remove(runId);
        if (record is not null) _bus.End(record);
    }

    private void Touch(LeaseTicket ticket)
    {
        if (_slots.TryGetValue(ticket.Owner, out var slot)) _slots[ticket.Owner] = slot with { LastSeen = DateTimeOffset.UtcNow, Running = ticket.RunId };
    }

    private void FreeSlot(string worker)
    {
        if (_slots.TryGetValue(worker, out var slot)) _slots[worker] = slot with { Running = null };
    }

    private string AttemptFolder(LeaseTicket ticket)
    {
        if (_attemptFolders.TryGetValue(ticket.RunId, out var known) && known.Attempt == ticket.Attempt) return known.Folder;
        var folder = _outputs.PrepareAttempt(ticket.RunId);
        _attemptFolders[ticket.RunId] = (ticket.Attempt, folder);
        return folder;
    }

    // A worker names files relative to its attempt; nothing outside the run's folder is written or committed.
    private static string? Contained(string folder, string file)
    {
        if (string.IsNullOrEmpty(file) || Path.IsPathRooted(file) || file.Replace('\\', '/').Split('/').Any(part => part is ".." or "")) return null;
        var root = Path.GetFullPath(folder);
        var full = Path.GetFullPath(Path.Combine(root, file));
        return full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) ? full : null;
    }

    private sealed record Slot(WorkerCapabilities Capabilities, DateTimeOffset LastSeen, string? Running);
}
