using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Server.Tests;

public sealed class RecoveryTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private SqliteRunStore Store() => new(Path.Combine(_folder.Path, "data", FlowDiffusionServerServiceCollectionExtensions.DatabaseFile));

    [Fact]
    public async Task Run_left_running_by_a_crash_is_requeued_and_completes_on_restart()
    {
        // What kill -9 leaves behind: a run marked running on its first attempt, and one still queued behind it.
        var store = Store();
        var crashed = (await store.AddAsync(new RunSubmission(Workflows.Sum, "{\"a\":1}"), default)).Run.Id;
        var waiting = (await store.AddAsync(new RunSubmission(Workflows.Sum, "{\"a\":2}"), default)).Run.Id;
        await store.ClaimNextAsync(default);

        await using var host = await ApiHost.StartAsync(_folder.Path);

        var run = await host.WaitAsync(crashed);
        Assert.Equal(("completed", 2), (run["status"]!.GetValue<string>(), run["attempts"]!.GetValue<int>()));
        Assert.Equal("completed", (await host.WaitAsync(waiting))["status"]!.GetValue<string>());
        Assert.Equal("4", await host.Client.GetStringAsync(run["outputs"]![0]!["url"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Run_crashed_on_its_second_attempt_is_marked_interrupted_not_retried()
    {
        var store = Store();
        var id = (await store.AddAsync(new RunSubmission(Workflows.Sum, "{}"), default)).Run.Id;
        await store.ClaimNextAsync(default);
        await store.RecoverAsync(default);
        await store.ClaimNextAsync(default);

        await using var host = await ApiHost.StartAsync(_folder.Path);

        var run = await host.WaitAsync(id);
        Assert.Equal("interrupted", run["status"]!.GetValue<string>());
        Assert.Empty(run["outputs"]!.AsArray());
    }

    [Fact]
    public async Task Graceful_stop_puts_the_run_in_flight_back_in_the_queue_and_the_next_host_finishes_it()
    {
        string id;
        await using (var first = await ApiHost.StartAsync(_folder.Path))
        {
            id = await first.SubmitAsync(new { yaml = Workflows.Slow(1500, "resumed") });
            await first.WaitAsync(id, "running");
        }
        var stored = (await Store().GetAsync(id, default))!;
        Assert.Equal((RunState.Queued, 0), (stored.Status, stored.Attempts));

        await using var second = await ApiHost.StartAsync(_folder.Path);

        var run = await second.WaitAsync(id);
        Assert.Equal(("completed", 1), (run["status"]!.GetValue<string>(), run["attempts"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Event_stream_opened_while_queued_follows_the_run_once_it_starts()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var blocker = await host.SubmitAsync(new { yaml = Workflows.Slow(60_000, "blocker") });
        await host.WaitAsync(blocker, "running");
        var queued = await host.SubmitAsync(new { yaml = Workflows.Slow(100, "queued") });

        var reading = ServerSentEvents.ReadAllAsync(host.Client, $"/api/runs/{queued}/events");
        await Task.Delay(300);
        Assert.False(reading.IsCompleted);
        await host.Client.PostAsync($"/api/runs/{blocker}/cancel", null);
        var events = await reading;

        Assert.Equal(("run_state", "queued"), (events[0].Kind, events[0].Data["status"]!.GetValue<string>()));
        Assert.Equal("run_started", events[1].Kind);
        Assert.Equal(("run_ended", "completed"), (events[^1].Kind, events[^1].Data["status"]!.GetValue<string>()));
        Assert.All(events, e => Assert.Equal(queued, e.Data["run_id"]!.GetValue<string>()));
    }
}
