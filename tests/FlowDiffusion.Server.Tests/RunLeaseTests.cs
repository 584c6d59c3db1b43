using System.Collections.Concurrent;
using FlowDiffusion.Server.Runs;
using Microsoft.Data.Sqlite;

namespace FlowDiffusion.Server.Tests;

/// <summary>Claims, leases and attempt fencing against the real SQLite store (what a cluster of workers relies on).</summary>
public sealed class RunLeaseTests : IDisposable
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(10);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Database => Path.Combine(_folder.Path, "data", "runs.db");

    private SqliteRunStore Open() => new(Database);

    private static (int Requeued, int Interrupted) Counts(RecoveryResult result) => (result.Requeued, result.Interrupted);

    private static RunFinish Completed(string value) => new(RunState.Completed, "[]", $"[\"{value}\"]");

    [Fact]
    public async Task A_claim_records_owner_attempt_and_expiry()
    {
        var store = Open();
        var id = (await store.AddAsync(new RunSubmission("yaml", "{}"), default)).Run.Id;
        var before = DateTimeOffset.UtcNow;

        var run = (await store.ClaimNextAsync("worker-a", TimeSpan.FromSeconds(30), default))!;

        Assert.Equal((id, RunState.Running, 1, "worker-a"), (run.Id, run.Status, run.Attempts, run.LeaseOwner));
        Assert.InRange(run.LeaseExpires!.Value, before.AddSeconds(29), DateTimeOffset.UtcNow.AddSeconds(31));
        Assert.Equal(new RunLease(id, 1, "worker-a", run.LeaseExpires.Value), run.Lease);
        Assert.Equal(run.LeaseExpires, (await store.GetAsync(id, default))!.LeaseExpires);
    }

    [Fact]
    public async Task A_late_result_from_an_attempt_whose_lease_expired_and_was_reclaimed_is_refused()
    {
        var store = Open();
        var id = (await store.AddAsync(new RunSubmission("yaml", "{}"), default)).Run.Id;
        var first = (await store.ClaimNextAsync("worker-a", TimeSpan.FromMilliseconds(1), default))!;
        await Task.Delay(20);

        Assert.Equal((1, 0), Counts(await store.ReclaimExpiredAsync(DateTimeOffset.UtcNow, maxAttempts: 3, default)));
        var second = (await store.ClaimNextAsync("worker-b", Long, default))!;
        Assert.Equal((id, 2, "worker-b"), (second.Id, second.Attempts, second.LeaseOwner));

        // Worker A comes back from its stall: its heartbeat says lost, its result is refused, nothing of it is recorded.
        Assert.Equal(LeaseRenewal.Lost, await store.RenewAsync(first.Lease!, Long, default));
        Assert.False(await store.FinishAsync(first.Lease!, Completed("from-a.png"), default));
        Assert.False(await store.RequeueAsync(first.Lease!, default));
        Assert.Equal((RunState.Running, "worker-b"), ((await store.GetAsync(id, default))!.Status, (await store.GetAsync(id, default))!.LeaseOwner));

        Assert.True(await store.FinishAsync(second.Lease!, Completed("from-b.png"), default));
        var run = (await store.GetAsync(id, default))!;
        Assert.Equal((RunState.Completed, "[\"from-b.png\"]", 2, null), (run.Status, run.OutputsJson, run.Attempts, run.LeaseOwner));
        // And after the end, even the current attempt cannot write again.
        Assert.False(await store.FinishAsync(second.Lease!, Completed("again.png"), default));
    }

    [Fact]
    public async Task The_same_owner_and_attempt_number_on_another_claim_is_still_fenced_by_owner()
    {
        var store = Open();
        var id = (await store.AddAsync(new RunSubmission("yaml", "{}"), default)).Run.Id;
        var claim = (await store.ClaimNextAsync("worker-a", Long, default))!;
        var forged = claim.Lease! with { Owner = "worker-z" };

        Assert.False(await store.FinishAsync(forged, Completed("x"), default));
        Assert.False(await store.FinishAsync(claim.Lease! with { Attempt = 2 }, Completed("x"), default));
        Assert.Equal(RunState.Running, (await store.GetAsync(id, default))!.Status);
    }

    [Fact]
    public async Task Heartbeats_extend_a_lease_and_an_unexpired_lease_is_not_reclaimed()
    {
        var store = Open();
        var id = (await store.AddAsync(new RunSubmission("yaml", "{}"), default)).Run.Id;
        var claim = (await store.ClaimNextAsync("worker-a", TimeSpan.FromMilliseconds(300), default))!;

        Assert.Equal(LeaseRenewal.Held, await store.RenewAsync(claim.Lease!, Long, default));
        await Task.Delay(400);

        Assert.Equal((0, 0), Counts(await store.ReclaimExpiredAsync(DateTimeOffset.UtcNow, 3, default)));
        var run = (await store.GetAsync(id, default))!;
        Assert.Equal((RunState.Running, 1), (run.Status, run.Attempts));
        Assert.True(run.LeaseExpires > DateTimeOffset.UtcNow.AddMinutes(9));
    }

    [Fact]
    public async Task Reclaim_after_the_last_allowed_attempt_marks_the_run_interrupted_with_the_reason()
    {
        var store = Open();
        var id = (await store.AddAsync(new RunSubmission("yaml", "{}"), default)).Run.Id;
        await store.ClaimNextAsync("worker-a", TimeSpan.FromMilliseconds(1), default);
        await Task.Delay(20);
        await store.ReclaimExpiredAsync(DateTimeOffset.UtcNow, 2, default);
        await store.ClaimNextAsync("worker-b", TimeSpan.FromMilliseconds(1), default);
        await Task.Delay(20);

        Assert.Equal((0, 1), Counts(await store.ReclaimExpiredAsync(DateTimeOffset.UtcNow, 2, default)));

        var run = (await store.GetAsync(id, default))!;
        Assert.Equal(RunState.Interrupted, run.Status);
        Assert.Contains("worker-b", run.Error);
        Assert.Contains("attempt 2 of 2", run.Error);
        Assert.Null(await store.ClaimNextAsync("worker-c", Long, default));
    }

    [Fact]
    public async Task Cancelling_a_running_run_reaches_its_owner_through_the_heartbeat()
    {
        var store = Open();
        var id = (await store.AddAsync(new RunSubmission("yaml", "{}"), default)).Run.Id;
        var claim = (await store.ClaimNextAsync("worker-a", Long, default))!;

        Assert.Equal(CancelOutcome.Requested, await store.CancelAsync(id, default));

        Assert.Equal(LeaseRenewal.CancelRequested, await store.RenewAsync(claim.Lease!, Long, default));
        Assert.True(await store.FinishAsync(claim.Lease!, new RunFinish(RunState.Cancelled, "[]", "[]"), default));
        Assert.Equal(CancelOutcome.NotActive, await store.CancelAsync(id, default));
    }

    [Fact]
    public async Task Two_stores_on_one_file_claiming_at_once_never_take_the_same_run()
    {
        // Two stores are two processes as far as the queue is concerned: each has its own write gate, only SQLite is shared.
        var stores = new[] { Open(), Open() };
        const int Runs = 60;
        for (var i = 0; i < Runs; i++) await stores[0].AddAsync(new RunSubmission($"run {i}", "{}"), default);
        var claims = new ConcurrentBag<(string Owner, string Id)>();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            var store = stores[worker % 2];
            var owner = $"worker-{worker}";
            while (await store.ClaimNextAsync(owner, Long, default) is { } run) claims.Add((owner, run.Id));
        })));

        Assert.Equal(Runs, claims.Count);
        Assert.Equal(Runs, claims.Select(c => c.Id).Distinct().Count());
        var stored = (await stores[1].ListAsync(RunState.Running, 0, Runs, default)).Runs;
        Assert.All(stored, r => Assert.Equal(1, r.Attempts));
        Assert.Equal(claims.ToDictionary(c => c.Id, c => c.Owner), stored.ToDictionary(r => r.Id, r => r.LeaseOwner!));
    }

    [Fact]
    public async Task A_database_from_before_leases_gains_the_lease_columns_and_keeps_its_runs()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Database)!);
        using (var connection = new SqliteConnection($"Data Source={Database};Pooling=False"))
        {
            connection.Open();
            using var create = connection.CreateCommand();
            create.CommandText = """
                CREATE TABLE runs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, status TEXT NOT NULL,
                    priority INTEGER NOT NULL DEFAULT 0, submitted TEXT NOT NULL, started TEXT, finished TEXT, workflow TEXT,
                    yaml TEXT NOT NULL, inputs TEXT NOT NULL, nodes TEXT, outputs TEXT, error TEXT, idempotency_key TEXT UNIQUE,
                    attempts INTEGER NOT NULL DEFAULT 0);
                INSERT INTO runs (id, status, submitted, yaml, inputs) VALUES ('0123456789abcdef0123456789abcdef', 'queued', '2026-11-01T00:00:00.0000000+00:00', 'old', '{}');
                """;
            create.ExecuteNonQuery();
        }

        var run = await Open().ClaimNextAsync("worker-a", Long, default);

        Assert.Equal(("0123456789abcdef0123456789abcdef", "old", 1, "worker-a"), (run!.Id, run.Yaml, run.Attempts, run.LeaseOwner));
    }
}
