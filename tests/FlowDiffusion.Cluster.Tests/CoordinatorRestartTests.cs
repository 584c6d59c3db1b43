using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Cluster.Tests;

/// <summary>
/// The coordinator's silo dies and a new one starts over the same SQLite run store: the dispatcher's new activation
/// knows nothing but what the store has, and that is enough.
/// </summary>
public sealed class CoordinatorRestartTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task After_a_coordinator_restart_running_runs_continue_queued_runs_dispatch_and_each_completes_once()
    {
        await using var cluster = TestCluster.Prepare();
        var ids = new List<string>();
        for (var i = 0; i < 4; i++) ids.Add(await cluster.SubmitAsync("models/tiny-sd"));
        // Two slots, four runs of 10 s: two run while the coordinator is down, two wait in the store. The 30 s lease
        // outlasts the restart, so a running run can only be re-queued if the new dispatcher failed to take its heartbeats.
        await cluster.StartAsync([("a", ["models/tiny-sd"], 1), ("b", ["models/tiny-sd"], 1)], steps: 100, TimeSpan.FromMilliseconds(100), o => o.LeaseSeconds = 30);
        var deadline = DateTime.UtcNow + Timeout;
        while (cluster.Journal.Executions.Count < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "two runs did not start");
            await Task.Delay(20);
        }
        var running = cluster.Journal.Executions.Select(e => e.RunId).ToHashSet();
        var waiting = ids.Where(id => !running.Contains(id)).ToList();
        foreach (var id in running) Assert.Equal(RunState.Running, (await cluster.Store.GetAsync(id, CancellationToken.None))!.Status);
        foreach (var id in waiting) Assert.Equal(RunState.Queued, (await cluster.Store.GetAsync(id, CancellationToken.None))!.Status);

        await cluster.RestartCoordinatorAsync(TimeSpan.FromSeconds(1));
        var restarted = DateTimeOffset.UtcNow;

        var finals = new Dictionary<string, RunRecord>();
        foreach (var id in ids) finals[id] = await cluster.WaitAsync(id, Timeout, RunState.Completed, RunState.Failed, RunState.Cancelled);
        var executions = cluster.Journal.Executions.ToList();
        var story = string.Join("; ", executions.Select(e => $"{e.RunId[..8]} attempt {e.Attempt} on {e.Worker} at {e.Started:HH:mm:ss.fff}"));
        foreach (var id in ids)
        {
            var final = finals[id];
            Assert.True(final.Status == RunState.Completed, $"run {id}: {final.Status} {final.Error}; {story}");
            // Exactly once: one execution, attempt 1, and the one output file is that attempt's.
            var execution = Assert.Single(executions, e => e.RunId == id);
            Assert.Equal((1, 1), (execution.Attempt, final.Attempts));
            Assert.Equal($"{id} attempt 1 on {execution.Slot}", await File.ReadAllTextAsync(cluster.Backend.Outputs.Find(id, "result.txt")!));
        }
        // The queued runs were handed out by the new dispatcher, from the store alone.
        foreach (var id in waiting) Assert.True(executions.Single(e => e.RunId == id).Started > restarted, story);
        Assert.Equal(1, cluster.Journal.MaxPerSlot);
    }
}
