using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Server.Tests;

/// <summary>Issue 15's probes against the run store and its HTTP surface: sizes, a damaged database, two owners.</summary>
public sealed class RunStoreHardeningTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Database => Path.Combine(_folder.Path, "data", FlowDiffusionServerServiceCollectionExtensions.DatabaseFile);

    [Fact]
    public async Task Run_list_leaves_out_workflow_text_and_long_inputs_so_a_page_of_big_runs_stays_small()
    {
        // The probe: runs with megabyte-sized prompts made GET /api/runs?limit=200 answer 111 MB.
        var store = new SqliteRunStore(Database);
        var prompt = new string('x', 200_000);
        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
            ids.Add((await store.AddAsync(new RunSubmission(Workflows.Sum + "# " + prompt, $"{{\"prompt\":\"{prompt}\",\"a\":{i}}}"), default)).Run.Id);
        var small = (await store.AddAsync(new RunSubmission(Workflows.Sum, "{\"a\":5}"), default)).Run.Id;
        await using var host = await ApiHost.StartAsync(_folder.Path);

        var text = await host.Client.GetStringAsync("/api/runs?limit=200");

        Assert.True(text.Length < 64 << 10, $"the page is {text.Length} characters");
        var page = JsonNode.Parse(text)!;
        var runs = page["runs"]!.AsArray();
        Assert.Equal(21, runs.Count);
        var big = runs.Single(r => r!["id"]!.GetValue<string>() == ids[0])!;
        Assert.Null(big["inputs"]);
        Assert.True(big["inputs_length"]!.GetValue<int>() > 200_000);
        Assert.Equal(5, runs.Single(r => r!["id"]!.GetValue<string>() == small)!["inputs"]!["a"]!.GetValue<int>());
        // One run still has everything.
        Assert.Equal(prompt, (await host.RunAsync(ids[0]))["inputs"]!["prompt"]!.GetValue<string>());
    }

    [Fact]
    public async Task Run_list_pages_by_size_and_next_offset_walks_every_run_once()
    {
        var store = new SqliteRunStore(Database);
        var ids = new HashSet<string>();
        for (var i = 0; i < 12; i++) ids.Add((await store.AddAsync(new RunSubmission(Workflows.Sum, $"{{\"a\":{i},\"note\":\"{new string('n', 1000)}\"}}"), default)).Run.Id);
        await using var host = await ApiHost.StartAsync(_folder.Path, ("FlowDiffusion:Server:MaxPageBytes", "4000"));

        var seen = new List<string>();
        int? offset = 0;
        var pages = 0;
        while (offset is { } at)
        {
            var text = await host.Client.GetStringAsync($"/api/runs?limit=200&offset={at}");
            var page = JsonNode.Parse(text)!;
            var runs = page["runs"]!.AsArray();
            Assert.InRange(runs.Count, 1, 4);
            Assert.True(text.Length < 4000 + 2000, $"a page of {text.Length} characters");
            seen.AddRange(runs.Select(r => r!["id"]!.GetValue<string>()));
            offset = page["next_offset"]?.GetValue<int>();
            pages++;
        }

        Assert.True(pages >= 3, $"{pages} pages");
        Assert.Equal(12, seen.Count);
        Assert.Equal(ids, seen.ToHashSet());
    }

    [Fact]
    public async Task A_damaged_database_makes_health_and_submissions_say_what_is_wrong_and_how_to_recover()
    {
        var store = new SqliteRunStore(Database);
        for (var i = 0; i < 40; i++) await store.AddAsync(new RunSubmission(Workflows.Sum, $"{{\"a\":{i},\"note\":\"{new string('n', 2000)}\"}}"), default);
        var finished = (await store.ClaimNextAsync(default))!;
        await store.FinishAsync(finished.Lease!, new RunFinish(RunState.Completed, "[]", "[]"), default);
        DamagePagesAfterTheFirst(Database);
        await using var host = await ApiHost.StartAsync(_folder.Path);

        using var health = await host.Client.GetAsync("/api/health");
        var healthText = await health.Content.ReadAsStringAsync();
        using var submit = await host.Client.PostAsync("/api/runs", JsonContent.Create(new { yaml = Workflows.Sum }));
        var submitText = await submit.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Equal("damaged", JsonNode.Parse(healthText)!["store"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, submit.StatusCode);
        foreach (var text in new[] { healthText, submitText })
        {
            Assert.Contains(Database, text, StringComparison.Ordinal);
            Assert.Contains("move the file aside", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Health_checks_the_store_and_says_ok_when_it_is()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        var health = JsonNode.Parse(await host.Client.GetStringAsync("/api/health"))!;

        Assert.Equal(("ok", "ok"), (health["status"]!.GetValue<string>(), health["store"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_second_host_on_the_same_database_refuses_to_start_and_names_the_first()
    {
        // The probe: the editor and serve started in one folder shared data/runs.db and ran the same job twice.
        await using var first = await ApiHost.StartAsync(_folder.Path);

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => ApiHost.StartAsync(_folder.Path));

        Assert.Contains(Database, refused.Message, StringComparison.Ordinal);
        Assert.Contains($"process {Environment.ProcessId}", refused.Message, StringComparison.Ordinal);
        Assert.Contains("FlowDiffusion:DataFolder", refused.Message, StringComparison.Ordinal);
        // The first goes on serving.
        var id = await first.SubmitAsync(new { yaml = Workflows.Sum });
        Assert.Equal("completed", (await first.WaitAsync(id))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Once_the_first_host_stops_another_may_take_the_database()
    {
        await (await ApiHost.StartAsync(_folder.Path)).DisposeAsync();

        await using var second = await ApiHost.StartAsync(_folder.Path);

        var id = await second.SubmitAsync(new { yaml = Workflows.Sum });
        Assert.Equal("completed", (await second.WaitAsync(id))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Event_streams_are_capped_per_client_and_in_total_and_a_closed_one_frees_its_slot()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path,
            ("FlowDiffusion:Server:MaxEventStreamsPerClient", "2"), ("FlowDiffusion:Server:MaxEventStreams", "3"));
        var blocker = await host.SubmitAsync(new { yaml = Workflows.Slow(60_000, "blocker") });
        var url = $"/api/runs/{blocker}/events";

        using var one = await host.Client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        using var two = await host.Client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        using var three = await host.Client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (one.StatusCode, two.StatusCode));
        Assert.Equal(HttpStatusCode.TooManyRequests, three.StatusCode);
        Assert.Contains("MaxEventStreamsPerClient", await three.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        one.Dispose();
        var freed = false;
        for (var attempt = 0; attempt < 100 && !freed; attempt++)
        {
            using var again = await host.Client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
            freed = again.StatusCode == HttpStatusCode.OK;
            if (!freed) await Task.Delay(50);
        }
        Assert.True(freed, "closing a stream did not free its slot");
        await host.Client.PostAsync($"/api/runs/{blocker}/cancel", null);
    }

    [Fact]
    public async Task The_total_event_stream_cap_holds_across_runs()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path,
            ("FlowDiffusion:Server:MaxEventStreamsPerClient", "10"), ("FlowDiffusion:Server:MaxEventStreams", "2"));
        var blocker = await host.SubmitAsync(new { yaml = Workflows.Slow(60_000, "blocker") });
        var queued = await host.SubmitAsync(new { yaml = Workflows.Sum });

        using var one = await host.Client.GetAsync($"/api/runs/{blocker}/events", HttpCompletionOption.ResponseHeadersRead);
        using var two = await host.Client.GetAsync($"/api/runs/{queued}/events", HttpCompletionOption.ResponseHeadersRead);
        using var three = await host.Client.GetAsync($"/api/runs/{queued}/events", HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.TooManyRequests, three.StatusCode);
        Assert.Contains("MaxEventStreams", await three.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await host.Client.PostAsync($"/api/runs/{blocker}/cancel", null);
    }

    // Garbage over every page but the first (which holds the header and the schema): what a failing disk or a torn copy leaves.
    internal static void DamagePagesAfterTheFirst(string path)
    {
        Assert.False(File.Exists(path + "-wal") && new FileInfo(path + "-wal").Length > 0, "the WAL should be checkpointed when the last connection closed");
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        var pageSize = 4096;
        Assert.True(file.Length > 4 * pageSize, $"the database is only {file.Length} bytes");
        var garbage = new byte[file.Length - pageSize];
        new Random(1).NextBytes(garbage);
        file.Position = pageSize;
        file.Write(garbage);
    }
}
