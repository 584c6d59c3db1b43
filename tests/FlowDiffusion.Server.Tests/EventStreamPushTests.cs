using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk;
using FlowDiffusion.Server.Runs;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Server.Tests;

/// <summary>
/// Issue 15's probe: 2,000 event-stream clients made <c>/api/health</c> take 768 ms, because each polled the database every
/// 100 ms. Subscribers are now served from the bus: listening costs no store reads, however many listen and however long.
/// </summary>
public sealed class EventStreamPushTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Many_listeners_of_a_run_read_the_store_only_when_they_subscribe_and_all_get_every_event()
    {
        var store = new CountingStore(new SqliteRunStore(Path.Combine(_folder.Path, "runs.db")));
        var backend = new EmbeddedRunBackend(store, new RunEventBus(), new LocalOutputStore(Path.Combine(_folder.Path, "outputs")), Options.Create(new ServerOptions()));
        var (run, _) = await backend.SubmitAsync(new RunSubmission("yaml", "{}"), default);
        var claimed = (await backend.ClaimAsync("worker", default))!;
        const int Listeners = 500;
        var streams = new List<IAsyncEnumerator<RunMessage>>();
        for (var i = 0; i < Listeners; i++)
        {
            var stream = backend.SubscribeAsync(run.Id, default).GetAsyncEnumerator();
            Assert.True(await stream.MoveNextAsync());
            Assert.Equal("run_state", stream.Current.Kind);
            streams.Add(stream);
        }
        var readsAfterSubscribing = store.Reads;

        backend.Publish(claimed.Lease!, new RunStarted(run.Id, DateTimeOffset.UtcNow, ["a"]));
        for (var step = 1; step <= 20; step++)
            backend.Publish(claimed.Lease!, new NodeProgressed(run.Id, DateTimeOffset.UtcNow, "a", new NodeProgress(step / 20.0, null, step, 20)));
        await Task.Delay(300);

        Assert.Equal(readsAfterSubscribing, store.Reads);
        Assert.InRange(readsAfterSubscribing, Listeners, 2 * Listeners);
        await backend.CompleteAsync(claimed.Lease!, new RunFinish(RunState.Completed, "[]", "[]"), default);
        foreach (var stream in streams)
        {
            var kinds = new List<string>();
            while (await stream.MoveNextAsync()) kinds.Add(stream.Current.Kind);
            Assert.Equal(22, kinds.Count);
            Assert.Equal("run_ended", kinds[^1]);
            await stream.DisposeAsync();
        }
    }

    /// <summary>The real store, counting the reads of single runs (what the old event stream polled).</summary>
    private sealed class CountingStore(IRunStore inner) : IRunStore
    {
        private int _reads;

        public int Reads => Volatile.Read(ref _reads);

        public Task<RunRecord?> GetAsync(string id, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _reads);
            return inner.GetAsync(id, cancellationToken);
        }

        public Task<(RunRecord Run, bool Created)> AddAsync(RunSubmission submission, CancellationToken cancellationToken) => inner.AddAsync(submission, cancellationToken);

        public Task<RunPage> ListAsync(RunState? status, int offset, int limit, CancellationToken cancellationToken, int maxInputsChars = 4096) =>
            inner.ListAsync(status, offset, limit, cancellationToken, maxInputsChars);

        public Task<RunRecord?> ClaimNextAsync(string owner, TimeSpan leaseDuration, CancellationToken cancellationToken) => inner.ClaimNextAsync(owner, leaseDuration, cancellationToken);

        public Task<LeaseRenewal> RenewAsync(RunLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken) => inner.RenewAsync(lease, leaseDuration, cancellationToken);

        public Task<bool> FinishAsync(RunLease lease, RunFinish finish, CancellationToken cancellationToken) => inner.FinishAsync(lease, finish, cancellationToken);

        public Task<bool> RequeueAsync(RunLease lease, CancellationToken cancellationToken) => inner.RequeueAsync(lease, cancellationToken);

        public Task<CancelOutcome> CancelAsync(string id, CancellationToken cancellationToken) => inner.CancelAsync(id, cancellationToken);

        public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) => inner.DeleteAsync(id, cancellationToken);

        public Task<RecoveryResult> RecoverAsync(CancellationToken cancellationToken) => inner.RecoverAsync(cancellationToken);

        public Task<RecoveryResult> ReclaimExpiredAsync(DateTimeOffset now, int maxAttempts, CancellationToken cancellationToken) =>
            inner.ReclaimExpiredAsync(now, maxAttempts, cancellationToken);

        public Task<IReadOnlyList<string>> PruneAsync(DateTimeOffset? finishedBefore, int? keepNewest, CancellationToken cancellationToken) =>
            inner.PruneAsync(finishedBefore, keepNewest, cancellationToken);

        public Task CheckAsync(CancellationToken cancellationToken) => inner.CheckAsync(cancellationToken);
    }
}
