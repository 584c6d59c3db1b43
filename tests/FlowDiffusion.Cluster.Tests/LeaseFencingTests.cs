using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Cluster.Tests;

/// <summary>The store verbs the dispatcher fences on: claiming a chosen run, and abandoning a lost attempt with bounded retries.</summary>
public sealed class LeaseFencingTests : IDisposable
{
    private readonly TempFolder _folder = new();

    private SqliteRunStore NewStore() => new(Path.Combine(_folder.Path, "runs.db"));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }

    [Fact]
    public async Task Claiming_a_chosen_run_skips_the_queue_order_and_only_once()
    {
        var store = NewStore();
        var (first, _) = await store.AddAsync(new RunSubmission("a", "{}"), CancellationToken.None);
        var (second, _) = await store.AddAsync(new RunSubmission("b", "{}"), CancellationToken.None);
        var claimed = await store.ClaimAsync(second.Id, "w1", TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Equal((second.Id, 1, "w1"), (claimed!.Id, claimed.Attempts, claimed.LeaseOwner));
        Assert.Null(await store.ClaimAsync(second.Id, "w2", TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.Equal(RunState.Queued, (await store.GetAsync(first.Id, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task An_abandoned_attempt_is_requeued_and_its_late_result_refused()
    {
        var store = NewStore();
        var (run, _) = await store.AddAsync(new RunSubmission("a", "{}"), CancellationToken.None);
        var old = (await store.ClaimAsync(run.Id, "silo1|w|0", TimeSpan.FromSeconds(10), CancellationToken.None))!.Lease!;
        Assert.Equal(RunState.Queued, await store.AbandonAsync(old, 3, "its worker died", CancellationToken.None));
        var next = (await store.ClaimAsync(run.Id, "silo2|w|0", TimeSpan.FromSeconds(10), CancellationToken.None))!.Lease!;
        Assert.Equal(2, next.Attempt);
        // The first attempt comes back late: every write under its lease is refused, the second one's stands.
        Assert.False(await store.FinishAsync(old, new RunFinish(RunState.Completed, "[]", """["late.png"]"""), CancellationToken.None));
        Assert.Equal(LeaseRenewal.Lost, await store.RenewAsync(old, TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.Null(await store.AbandonAsync(old, 3, "again", CancellationToken.None));
        Assert.True(await store.FinishAsync(next, new RunFinish(RunState.Completed, "[]", """["ok.png"]"""), CancellationToken.None));
        var final = (await store.GetAsync(run.Id, CancellationToken.None))!;
        Assert.Equal((RunState.Completed, """["ok.png"]""", 2), (final.Status, final.OutputsJson, final.Attempts));
    }

    [Fact]
    public async Task A_run_that_loses_its_last_allowed_attempt_fails_with_the_reason()
    {
        var store = NewStore();
        var (run, _) = await store.AddAsync(new RunSubmission("a", "{}"), CancellationToken.None);
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var lease = (await store.ClaimAsync(run.Id, $"silo{attempt}|w|0", TimeSpan.FromSeconds(10), CancellationToken.None))!.Lease!;
            var state = await store.AbandonAsync(lease, 2, $"its worker silo{attempt} died", CancellationToken.None);
            Assert.Equal(attempt < 2 ? RunState.Queued : RunState.Failed, state);
        }
        var final = (await store.GetAsync(run.Id, CancellationToken.None))!;
        Assert.Equal(RunState.Failed, final.Status);
        Assert.Equal("its worker silo2 died on attempt 2 of 2; not retried", final.Error);
        Assert.Null(await store.ClaimAsync(run.Id, "silo3|w|0", TimeSpan.FromSeconds(10), CancellationToken.None));
    }
}
