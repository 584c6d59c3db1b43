using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Server.Runs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Server.Tests;

/// <summary>
/// The embedded host takes back runs whose worker stopped heartbeating (not only at start-up): real SQLite store, leases
/// of a second or two, a "ghost" worker that claims a run and then goes silent.
/// </summary>
public sealed class LeaseExpiryTests : IAsyncDisposable
{
    private readonly TempFolder _folder = new();

    public ValueTask DisposeAsync()
    {
        _folder.Dispose();
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task A_run_whose_worker_stops_heartbeating_is_requeued_run_again_by_the_host_and_the_late_result_is_refused()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path, ("FlowDiffusion:Server:LeaseSeconds", "1.5"), ("FlowDiffusion:Server:MaxAttempts", "3"));
        var backend = host.Services.GetRequiredService<IRunBackend>();
        // The host's only worker slot is busy with a slow run, so the ghost is the one that claims the next run.
        var busy = await host.SubmitAsync(new { yaml = Workflows.Slow(1500, prefix: "busy") });
        await host.WaitAsync(busy, "running");
        var (run, _) = await backend.SubmitAsync(new RunSubmission(Workflows.Sum, "{\"a\": 4}"), default);
        var ghost = (await backend.ClaimAsync("ghost-worker", default))!;
        Assert.Equal((run.Id, 1, "ghost-worker"), (ghost.Id, ghost.Attempts, ghost.LeaseOwner));
        var messages = new List<RunMessage>();
        var watching = Task.Run(async () =>
        {
            await foreach (var message in backend.SubscribeAsync(run.Id, default)) messages.Add(message);
        });

        // The ghost never heartbeats again. Once its lease lapses the host re-queues the run and, its slot free, runs attempt 2.
        var done = await host.WaitAsync(run.Id, TimeSpan.FromSeconds(20), "completed", "failed", "interrupted");
        await watching.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(("completed", 2), (done["status"]!.GetValue<string>(), done["attempts"]!.GetValue<int>()));
        Assert.Equal("7", File.ReadAllText(Path.Combine(host.Outputs, run.Id, "value-sink.txt")));
        // The ghost wakes up: told its lease is lost, its events go nowhere and its result is refused.
        Assert.Equal(LeaseRenewal.Lost, await backend.HeartbeatAsync(ghost.Lease!, default));
        backend.Publish(ghost.Lease!, new NodeStarted(run.Id, DateTimeOffset.UtcNow, "ghost-node", "test.number"));
        Assert.False(await backend.CompleteAsync(ghost.Lease!, new RunFinish(RunState.Failed, "[]", "[]", "ghost result"), default));
        var stored = (await backend.GetAsync(run.Id, default))!;
        Assert.Equal((RunState.Completed, null, 2), (stored.Status, stored.Error, stored.Attempts));

        // The watcher saw why the run started over, then one whole attempt and its end.
        var log = Assert.Single(messages, m => m.Kind == RunMessage.LogKind && m.Text!.Contains("ghost-worker", StringComparison.Ordinal));
        Assert.Contains("attempt 1", log.Text);
        Assert.Contains("re-queued", log.Text);
        Assert.Equal(RunMessage.EndedKind, messages[^1].Kind);
        Assert.Equal(4, messages.Count(m => m.Event is NodeFinished));
        Assert.DoesNotContain(messages, m => m.Event is NodeStarted { NodeId: "ghost-node" });
    }

    [Fact]
    public async Task After_the_last_allowed_attempt_an_expired_run_ends_interrupted_naming_its_worker_and_watchers_hear_it()
    {
        var options = Options.Create(new ServerOptions { LeaseSeconds = 1, MaxAttempts = 2 });
        var store = new SqliteRunStore(Path.Combine(_folder.Path, "data", "runs.db"));
        var backend = new EmbeddedRunBackend(store, new RunEventBus(), new LocalOutputStore(Path.Combine(_folder.Path, "outputs")), options);
        var (run, _) = await backend.SubmitAsync(new RunSubmission(Workflows.Sum, "{}"), default);
        var messages = new List<RunMessage>();
        var watching = Task.Run(async () =>
        {
            await foreach (var message in backend.SubscribeAsync(run.Id, default)) messages.Add(message);
        });

        var first = (await backend.ClaimAsync("worker-a", default))!;
        // Not expired yet: nothing is taken back.
        var early = await backend.ReclaimExpiredAsync(default);
        Assert.Equal((0, 0), (early.Requeued, early.Interrupted));
        await Task.Delay(1200);
        var reclaimed = await backend.ReclaimExpiredAsync(default);
        Assert.Equal((1, 0), (reclaimed.Requeued, reclaimed.Interrupted));
        Assert.Equal(first.Lease! with { Expires = reclaimed.RequeuedLeases[0].Expires }, Assert.Single(reclaimed.RequeuedLeases));
        Assert.Equal(RunState.Queued, (await backend.GetAsync(run.Id, default))!.Status);

        var second = (await backend.ClaimAsync("worker-b", default))!;
        Assert.Equal((2, "worker-b"), (second.Attempts, second.LeaseOwner));
        await Task.Delay(1200);
        reclaimed = await backend.ReclaimExpiredAsync(default);
        Assert.Equal((0, 1), (reclaimed.Requeued, reclaimed.Interrupted));
        await watching.WaitAsync(TimeSpan.FromSeconds(10));

        var stored = (await backend.GetAsync(run.Id, default))!;
        Assert.Equal(RunState.Interrupted, stored.Status);
        Assert.Contains("worker-b", stored.Error);
        Assert.Contains("attempt 2 of 2", stored.Error);
        Assert.Null(await backend.ClaimAsync("worker-c", default));
        Assert.False(await backend.CompleteAsync(first.Lease!, new RunFinish(RunState.Completed, "[]", "[]"), default));
        Assert.False(await backend.CompleteAsync(second.Lease!, new RunFinish(RunState.Completed, "[]", "[]"), default));
        var ended = messages[^1];
        Assert.Equal((RunMessage.EndedKind, RunState.Interrupted), (ended.Kind, ended.Record!.Status));
        Assert.Contains(messages, m => m.Kind == RunMessage.LogKind && m.Text!.Contains("worker-a", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Targets_travel_with_the_submission_through_the_store()
    {
        var store = new SqliteRunStore(Path.Combine(_folder.Path, "data", "runs.db"));
        var (run, _) = await store.AddAsync(new RunSubmission(Workflows.Sum, "{}", Targets: ["add", "first"]), default);
        var plain = (await store.AddAsync(new RunSubmission(Workflows.Sum, "{}"), default)).Run;

        Assert.Equal(["add", "first"], (await store.GetAsync(run.Id, default))!.Targets);
        Assert.Equal(["add", "first"], (await store.ClaimNextAsync(default))!.Targets);
        Assert.Null((await store.GetAsync(plain.Id, default))!.Targets);
    }
}
