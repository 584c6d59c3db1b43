using System.Runtime.CompilerServices;
using FlowDiffusion.Engine.Execution;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Server.Runs;

/// <summary>
/// The default <see cref="IRunBackend"/>: one process, the run store (SQLite), the in-process <see cref="RunEventBus"/>
/// and an output store (a local folder); <see cref="RunDispatcher"/> is its worker. Cancelling a running run reaches the
/// worker at once through <see cref="CancelRequested"/>, and the store's flag as well, for a worker that only heartbeats.
/// </summary>
public sealed class EmbeddedRunBackend : IRunBackend
{
    // A health check reads every page of the database; polled often, it reuses a recent good answer.
    private static readonly TimeSpan CheckReuse = TimeSpan.FromSeconds(5);
    private readonly ServerOptions _options;
    private long _lastGoodCheck = -1;

    /// <summary>Creates the backend over its parts.</summary>
    public EmbeddedRunBackend(IRunStore store, RunEventBus bus, IOutputStore outputs, IOptions<ServerOptions> options)
    {
        Store = store;
        Bus = bus;
        Outputs = outputs;
        _options = options.Value;
    }

    /// <summary>Raised after a new run was queued (the worker wakes up).</summary>
    public event Action? Submitted;

    /// <summary>Raised with a run id when a client asked to cancel a running run.</summary>
    public event Action<string>? CancelRequested;

    /// <summary>The run store.</summary>
    public IRunStore Store { get; }

    /// <summary>The event bus.</summary>
    public RunEventBus Bus { get; }

    /// <inheritdoc />
    public IOutputStore Outputs { get; }

    /// <summary>How long a claim lasts without a heartbeat.</summary>
    public TimeSpan LeaseDuration => TimeSpan.FromSeconds(Math.Max(1, _options.LeaseSeconds));

    /// <summary>How many attempts a run gets when its worker keeps losing it (stops heartbeating) before it is given up.</summary>
    public int MaxAttempts => Math.Max(1, _options.MaxAttempts);

    /// <summary>
    /// Takes back the runs whose lease expired (their worker stopped heartbeating: it hung, or died without the
    /// host noticing): each goes back to the queue for a new attempt, or, after <see cref="MaxAttempts"/>, ends
    /// interrupted with the reason. Subscribers see a log line and the next attempt, or run_ended; whatever the old
    /// attempt still sends is refused (<see cref="CompleteAsync"/> returns false, its events are dropped).
    /// </summary>
    public async Task<RecoveryResult> ReclaimExpiredAsync(CancellationToken cancellationToken)
    {
        var result = await Store.ReclaimExpiredAsync(DateTimeOffset.UtcNow, MaxAttempts, cancellationToken);
        foreach (var lease in result.RequeuedLeases)
            Bus.Requeued(lease.RunId, $"attempt {lease.Attempt}: the lease of {lease.Owner} expired at {lease.Expires:O} without a heartbeat; re-queued", lease.Attempt);
        foreach (var lease in result.InterruptedLeases)
        {
            if (await Store.GetAsync(lease.RunId, cancellationToken) is { } record) Bus.End(record);
        }
        if (result.Requeued > 0) Submitted?.Invoke();
        return result;
    }

    /// <inheritdoc />
    public async Task<(RunRecord Run, bool Created)> SubmitAsync(RunSubmission submission, CancellationToken cancellationToken)
    {
        var added = await Store.AddAsync(submission, cancellationToken);
        if (added.Created) Submitted?.Invoke();
        return added;
    }

    /// <inheritdoc />
    public async Task<(RunRecord Run, bool Created, IAsyncEnumerable<RunMessage> Messages)> SubmitSubscribedAsync(RunSubmission submission, CancellationToken cancellationToken)
    {
        var (run, created) = await Store.AddAsync(submission, cancellationToken);
        // On the bus before the dispatcher is woken: the run's first event finds this subscriber there.
        var subscription = Bus.Subscribe(run);
        if (created) Submitted?.Invoke();
        try
        {
            // As SubscribeAsync: a run that was already final (an idempotent resubmission) ends the messages at once.
            if (!run.Status.IsFinal()) Bus.Recheck(subscription, await Store.GetAsync(run.Id, cancellationToken));
        }
        catch
        {
            subscription.Dispose();
            throw;
        }
        return (run, created, ReadAll(subscription));
    }

    private static async IAsyncEnumerable<RunMessage> ReadAll(RunSubscription subscription, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using (subscription)
        {
            await foreach (var message in subscription.Reader.ReadAllAsync(cancellationToken)) yield return message;
        }
    }

    /// <inheritdoc />
    public Task<RunRecord?> GetAsync(string id, CancellationToken cancellationToken) => Store.GetAsync(id, cancellationToken);

    /// <inheritdoc />
    public Task<RunPage> ListAsync(RunState? status, int offset, int limit, CancellationToken cancellationToken) =>
        Store.ListAsync(status, offset, limit, cancellationToken, _options.MaxListedInputsChars);

    /// <inheritdoc />
    public async Task<CancelOutcome> CancelAsync(string id, CancellationToken cancellationToken)
    {
        var outcome = await Store.CancelAsync(id, cancellationToken);
        if (outcome == CancelOutcome.Cancelled && await Store.GetAsync(id, cancellationToken) is { } record) Bus.End(record);
        if (outcome == CancelOutcome.Requested) CancelRequested?.Invoke(id);
        return outcome;
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        if (!await Store.DeleteAsync(id, cancellationToken)) return false;
        Outputs.Delete(id);
        return true;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<RunMessage> SubscribeAsync(string id, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (await Store.GetAsync(id, cancellationToken) is not { } record) yield break;
        using var subscription = Bus.Subscribe(record);
        // Read again once subscribed: a run that ended in between is ended here rather than waited for.
        if (!record.Status.IsFinal()) Bus.Recheck(subscription, await Store.GetAsync(id, cancellationToken));
        await foreach (var message in subscription.Reader.ReadAllAsync(cancellationToken)) yield return message;
    }

    /// <inheritdoc />
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastGoodCheck);
        if (last >= 0 && now - last < (long)CheckReuse.TotalMilliseconds) return;
        await Store.CheckAsync(cancellationToken);
        Interlocked.Exchange(ref _lastGoodCheck, now);
    }

    /// <inheritdoc />
    public async Task<RunRecord?> ClaimAsync(string owner, CancellationToken cancellationToken)
    {
        var record = await Store.ClaimNextAsync(owner, LeaseDuration, cancellationToken);
        if (record is not null) Bus.Begin(record.Id, record.Attempts);
        return record;
    }

    /// <inheritdoc />
    public Task<LeaseRenewal> HeartbeatAsync(RunLease lease, CancellationToken cancellationToken) =>
        Store.RenewAsync(lease, LeaseDuration, cancellationToken);

    /// <inheritdoc />
    public void Publish(RunLease lease, RunEvent item) => Bus.Publish(lease.RunId, item, lease.Attempt);

    /// <inheritdoc />
    public void Log(RunLease lease, string text) => Bus.Log(lease.RunId, text);

    /// <inheritdoc />
    public async Task<bool> CompleteAsync(RunLease lease, RunFinish finish, CancellationToken cancellationToken)
    {
        if (!await Store.FinishAsync(lease, finish, cancellationToken)) return false;
        // Subscribers hear of the end after the store records it, so a client reacting to it reads the final state.
        if (await Store.GetAsync(lease.RunId, cancellationToken) is { } record) Bus.End(record);
        return true;
    }

    /// <inheritdoc />
    public async Task<bool> ReleaseAsync(RunLease lease, string reason, CancellationToken cancellationToken)
    {
        if (!await Store.RequeueAsync(lease, cancellationToken)) return false;
        Bus.Requeued(lease.RunId, reason);
        return true;
    }
}
