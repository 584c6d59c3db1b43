using FlowDiffusion.Cluster.Dispatch;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Cluster.Tests;

/// <summary>Workers that share a folder with the coordinator put outputs there instead of sending them in chunks.</summary>
public sealed class SharedOutputStoreTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Outputs_written_to_the_shared_store_appear_in_history_and_a_stale_attempts_files_are_discarded()
    {
        using var share = new TempFolder();
        await using var cluster = TestCluster.Prepare();
        var id = await cluster.SubmitAsync("models/tiny-sd");
        // Two seconds of steps: time to subscribe before the dispatcher takes the files.
        await cluster.StartAsync([("a", ["models/tiny-sd"], 1)], steps: 40, TimeSpan.FromMilliseconds(50), o => o.OutputStore = share.Path);
        var messages = new List<RunMessage>();
        using var watch = new CancellationTokenSource(Timeout);
        var listening = Task.Run(async () =>
        {
            await foreach (var message in cluster.Backend.SubscribeAsync(id, watch.Token)) messages.Add(message);
        });

        var final = await cluster.WaitAsync(id, Timeout, RunState.Completed, RunState.Failed);
        Assert.True(final.Status == RunState.Completed, final.Error);
        await listening;
        var execution = Assert.Single(cluster.Journal.Executions);
        // In history like a local output: listed by the record, served from the coordinator's output store.
        Assert.Contains("result.txt", final.OutputsJson);
        Assert.Equal($"{id} attempt 1 on {execution.Slot}", await File.ReadAllTextAsync(cluster.Backend.Outputs.Find(id, "result.txt")!));
        // They came through the share (the dispatcher says so on the run's stream), and nothing is left in its inbox.
        Assert.Contains(messages, m => m.Text == "outputs: 1 file(s) from the shared output store");
        var stale = new LeaseTicket(id, 1, execution.Slot);
        Assert.False(Directory.Exists(SharedOutputFolder.Inbox(share.Path, stale)));

        // A late result of a stale attempt, its files already in the share: refused, its inbox deleted, the run's outputs kept.
        var late = Path.Combine(share.Path, "late");
        Directory.CreateDirectory(late);
        await File.WriteAllTextAsync(Path.Combine(late, "result.txt"), "late");
        var placed = await SharedOutputFolder.PlaceAsync(share.Path, stale with { Attempt = 0 }, late, [Path.Combine(late, "result.txt")], CancellationToken.None);
        Assert.Equal(["result.txt"], placed);
        Assert.True(File.Exists(Path.Combine(SharedOutputFolder.Inbox(share.Path, stale with { Attempt = 0 }), "result.txt")));
        Assert.False(await cluster.Dispatcher.CompleteAsync(stale with { Attempt = 0 }, new WorkerFinish("completed", "[]", placed, null, InSharedStore: true)));
        Assert.False(Directory.Exists(SharedOutputFolder.Inbox(share.Path, stale with { Attempt = 0 })));
        Assert.Equal($"{id} attempt 1 on {execution.Slot}", await File.ReadAllTextAsync(cluster.Backend.Outputs.Find(id, "result.txt")!));
    }
}
