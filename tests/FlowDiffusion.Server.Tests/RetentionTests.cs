using System.Net;
using System.Text.Json.Nodes;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Server.Tests;

public sealed class RetentionTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException(what);
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Max_runs_keeps_the_newest_finished_runs_and_deletes_the_others_with_their_folders()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path,
            ("FlowDiffusion:Server:MaxRuns", "2"), ("FlowDiffusion:Server:RetentionSweepSeconds", "0.1"));
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await host.SubmitAsync(new { yaml = Workflows.Sum, inputs = new { a = i } }));
            await host.WaitAsync(ids[^1]);
        }

        await WaitUntilAsync(async () => JsonNode.Parse(await host.Client.GetStringAsync("/api/runs"))!["total"]!.GetValue<int>() == 2,
            "retention never brought the history down to 2 runs");

        var kept = JsonNode.Parse(await host.Client.GetStringAsync("/api/runs"))!["runs"]!.AsArray().Select(r => r!["id"]!.GetValue<string>());
        Assert.Equal(ids[2..].AsEnumerable().Reverse(), kept);
        foreach (var gone in ids[..2])
        {
            Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync($"/api/runs/{gone}")).StatusCode);
            Assert.False(Directory.Exists(Path.Combine(host.Outputs, gone)));
        }
        Assert.All(ids[2..], id => Assert.True(File.Exists(Path.Combine(host.Outputs, id, "value-sink.txt"))));
    }

    [Fact]
    public async Task Runs_older_than_the_retention_days_are_deleted_with_their_folders()
    {
        // A second, in days, so the run ages out during the test.
        await using var host = await ApiHost.StartAsync(_folder.Path,
            ("FlowDiffusion:Server:RetentionDays", (1.0 / 86400).ToString("R", System.Globalization.CultureInfo.InvariantCulture)),
            ("FlowDiffusion:Server:RetentionSweepSeconds", "0.1"));
        var id = await host.SubmitAsync(new { yaml = Workflows.Sum });
        await host.WaitAsync(id, "completed");
        Assert.True(File.Exists(Path.Combine(host.Outputs, id, "value-sink.txt")));

        await WaitUntilAsync(async () => (await host.Client.GetAsync($"/api/runs/{id}")).StatusCode == HttpStatusCode.NotFound,
            "the run outlived its retention");

        Assert.False(Directory.Exists(Path.Combine(host.Outputs, id)));
    }

    [Fact]
    public async Task Without_retention_settings_finished_runs_are_kept()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path, ("FlowDiffusion:Server:RetentionSweepSeconds", "0.05"));
        var id = await host.SubmitAsync(new { yaml = Workflows.Sum });
        await host.WaitAsync(id, "completed");

        await Task.Delay(300);

        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync($"/api/runs/{id}")).StatusCode);
    }

    [Fact]
    public async Task Prune_never_touches_queued_or_running_runs()
    {
        var store = new SqliteRunStore(Path.Combine(_folder.Path, "runs.db"));
        var done = (await store.AddAsync(new RunSubmission("done", "{}"), default)).Run.Id;
        var cancelled = (await store.AddAsync(new RunSubmission("cancelled", "{}"), default)).Run.Id;
        var running = (await store.AddAsync(new RunSubmission("running", "{}"), default)).Run.Id;
        var queued = (await store.AddAsync(new RunSubmission("queued", "{}"), default)).Run.Id;
        var claimed = (await store.ClaimNextAsync(default))!;
        Assert.Equal(done, claimed.Id);
        await store.FinishAsync(claimed.Lease!, new RunFinish(RunState.Completed, "[]", "[]", null), default);
        Assert.Equal(CancelOutcome.Cancelled, await store.CancelAsync(cancelled, default));
        var first = (await store.ClaimNextAsync(default))!;
        Assert.Equal(running, first.Id);
        await store.RequeueAsync(first.Lease!, default);
        Assert.Equal(running, (await store.ClaimNextAsync(default))!.Id);

        var pruned = await store.PruneAsync(DateTimeOffset.UtcNow.AddMinutes(1), keepNewest: 0, default);

        Assert.Equal(new[] { cancelled, done }.Order(), pruned.Order());
        Assert.Equal(RunState.Running, (await store.GetAsync(running, default))!.Status);
        Assert.Equal(RunState.Queued, (await store.GetAsync(queued, default))!.Status);
    }

    [Fact]
    public async Task Prune_by_count_keeps_the_newest()
    {
        var store = new SqliteRunStore(Path.Combine(_folder.Path, "runs.db"));
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var id = (await store.AddAsync(new RunSubmission("y" + i, "{}"), default)).Run.Id;
            ids.Add(id);
            Assert.Equal(CancelOutcome.Cancelled, await store.CancelAsync(id, default));
        }

        var pruned = await store.PruneAsync(finishedBefore: null, keepNewest: 3, default);

        Assert.Equal(ids[..2].Order(), pruned.Order());
        Assert.Equal(3, (await store.ListAsync(null, 0, 10, default)).Total);
    }
}
