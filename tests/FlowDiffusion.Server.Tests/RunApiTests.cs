using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Server.Tests;

public sealed class RunApiTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Submitted_yaml_run_completes_with_timings_and_its_output_file_is_served()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        var id = await host.SubmitAsync(new { yaml = Workflows.Sum, inputs = new { a = 4.5 } });
        var run = await host.WaitAsync(id);

        Assert.Equal("completed", run["status"]!.GetValue<string>());
        Assert.Equal(4.5, run["inputs"]!["a"]!.GetValue<double>());
        Assert.Equal(["add", "first", "second", "sink"], run["nodes"]!.AsArray().Select(n => n!["node"]!.GetValue<string>()).Order());
        var output = Assert.Single(run["outputs"]!.AsArray());
        Assert.Equal("value-sink.txt", output!["file"]!.GetValue<string>());
        Assert.Equal("7.5", await host.Client.GetStringAsync(output["url"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Invalid_workflow_is_refused_with_every_error_and_its_line()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        const string yaml = """
            flowdiffusion: 1
            nodes:
              first: { node: test.number, with: { value: 1 } }
              bad: { node: test.nosuch }
              add: { node: test.add, in: { a: first.result, b: first.result }, with: { colour: red } }
            """;

        using var response = await host.Client.PostAsJsonAsync("/api/runs", new { yaml });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var errors = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]!.AsArray();
        Assert.Contains(errors, e => e!["node"]?.GetValue<string>() == "bad" && e["line"]!.GetValue<int>() == 4 && e["message"]!.GetValue<string>().Contains("test.nosuch"));
        Assert.Contains(errors, e => e!["node"]?.GetValue<string>() == "add" && e["line"]!.GetValue<int>() == 5 && e["message"]!.GetValue<string>().Contains("colour"));
        var page = JsonNode.Parse(await host.Client.GetStringAsync("/api/runs"))!;
        Assert.Equal(0, page["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task Wrong_input_type_is_a_validation_error_naming_the_input()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        using var response = await host.Client.PostAsJsonAsync("/api/runs", new { yaml = Workflows.Sum, inputs = new { a = true, b = 1 } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var messages = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]!.AsArray().Select(e => e!["message"]!.GetValue<string>()).ToList();
        Assert.Equal(2, messages.Count);
        Assert.Contains(messages, m => m.Contains("'b'"));
    }

    [Fact]
    public async Task Same_idempotency_key_returns_the_first_run_and_queues_nothing_more()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        var first = await host.SubmitAsync(new { yaml = Workflows.Sum, inputs = new { a = 1 } }, idempotencyKey: "order-17");
        var second = await host.SubmitAsync(new { yaml = Workflows.Sum, inputs = new { a = 2 } }, idempotencyKey: "order-17");
        var other = await host.SubmitAsync(new { yaml = Workflows.Sum, inputs = new { a = 3 } }, idempotencyKey: "order-18");

        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
        await host.WaitAsync(first);
        await host.WaitAsync(other);
        var page = JsonNode.Parse(await host.Client.GetStringAsync("/api/runs"))!;
        Assert.Equal(2, page["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task Cancel_stops_a_running_run_and_a_queued_one_never_starts()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var running = await host.SubmitAsync(new { yaml = Workflows.Slow(60_000, "long") });
        var queued = await host.SubmitAsync(new { yaml = Workflows.Slow(50, "after") });
        await host.WaitAsync(running, "running");

        using (var response = await host.Client.PostAsync($"/api/runs/{queued}/cancel", null))
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        using (var response = await host.Client.PostAsync($"/api/runs/{running}/cancel", null))
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

        Assert.Equal("cancelled", (await host.WaitAsync(running))["status"]!.GetValue<string>());
        var never = await host.WaitAsync(queued);
        Assert.Equal("cancelled", never["status"]!.GetValue<string>());
        Assert.Null(never["started"]);
        using var again = await host.Client.PostAsync($"/api/runs/{running}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task Higher_priority_runs_first_then_submission_order()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var blocker = await host.SubmitAsync(new { yaml = Workflows.Slow(60_000, "blocker") });
        await host.WaitAsync(blocker, "running");
        var low1 = await host.SubmitAsync(new { yaml = Workflows.Slow(10, "low1") });
        var low2 = await host.SubmitAsync(new { yaml = Workflows.Slow(10, "low2") });
        var high = await host.SubmitAsync(new { yaml = Workflows.Slow(10, "high"), priority = 5 });

        await host.Client.PostAsync($"/api/runs/{blocker}/cancel", null);
        var started = new List<(DateTimeOffset Started, string Id)>();
        foreach (var id in new[] { low1, low2, high })
        {
            var run = await host.WaitAsync(id);
            Assert.Equal("completed", run["status"]!.GetValue<string>());
            started.Add((run["started"]!.GetValue<DateTimeOffset>(), id));
        }

        Assert.Equal([high, low1, low2], started.OrderBy(s => s.Started).Select(s => s.Id));
    }

    [Fact]
    public async Task Event_stream_starts_with_the_run_state_carries_the_engine_events_and_ends_with_run_ended()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var blocker = await host.SubmitAsync(new { yaml = Workflows.Slow(60_000, "blocker") });
        await host.WaitAsync(blocker, "running");
        var id = await host.SubmitAsync(new { yaml = Workflows.Slow(400, "events") });

        // Subscribed while queued (the first event, the state, proves it), so this client sees every event of the run.
        var events = await ServerSentEvents.ReadAllAsync(host.Client, $"/api/runs/{id}/events",
            async () => await host.Client.PostAsync($"/api/runs/{blocker}/cancel", null));

        var kinds = events.Select(e => e.Kind).ToList();
        Assert.Equal(("run_state", "queued"), (kinds[0], events[0].Data["status"]!.GetValue<string>()));
        Assert.Equal("run_started", kinds[1]);
        Assert.Equal("run_ended", kinds[^1]);
        Assert.Equal(1, kinds.Count(k => k == "run_ended"));
        Assert.Equal("completed", events[^1].Data["status"]!.GetValue<string>());
        Assert.Equal(4, events.Count(e => e.Kind == "progress" && e.Data["node"]!.GetValue<string>() == "wait"));
        Assert.Contains(events, e => e.Kind == "node_finished" && e.Data["node"]!.GetValue<string>() == "sink");
        var output = Assert.Single(events, e => e.Kind == "output");
        Assert.Equal("1", await host.Client.GetStringAsync(output.Data["url"]!.GetValue<string>()));
        Assert.All(events, e => Assert.Equal(e.Kind, e.Data["kind"]!.GetValue<string>()));
        Assert.All(events, e => Assert.Equal(1, e.Data["v"]!.GetValue<int>()));
        var live = events.Skip(1).SkipLast(1).ToList();
        Assert.Equal(Enumerable.Range(1, live.Count).Select(i => (long)i), live.Select(e => e.Data["seq"]!.GetValue<long>()));
        // Monotonic progress (docs/events.md): start (1) done gives 1/3; the wait then reveals 4 steps, and each step
        // moves the bar by its share of what remains: step 1 -> 1/3 + 2/3 * 1/5, step 2 -> that + (1 - that) * 1/4 = 0.6.
        var overall = live.Select(e => e.Data["overall"]!.GetValue<double>()).ToList();
        Assert.Equal(overall.Order(), overall);
        var second = Assert.Single(events, e => e.Kind == "progress" && e.Data["step"]!.GetValue<int>() == 2);
        Assert.Equal(0.6, second.Data["overall"]!.GetValue<double>(), 3);
        Assert.True(second.Data["eta_seconds"]!.GetValue<double>() > 0);
        Assert.Equal(1.0, live[^1].Data["overall"]!.GetValue<double>());
        // The final event is sent after the store records the end, so the run reads as completed at once.
        Assert.Equal("completed", (await host.RunAsync(id))["status"]!.GetValue<string>());
        // Timings in run_ended use the same keys as the run record.
        Assert.Equal((await host.RunAsync(id))["nodes"]!.ToJsonString(), events[^1].Data["nodes"]!.ToJsonString());
    }

    [Fact]
    public async Task Event_stream_of_a_finished_run_is_its_state_then_the_same_run_ended_a_live_client_got()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var id = await host.SubmitAsync(new { yaml = Workflows.Slow(300, "late") });
        var live = await ServerSentEvents.ReadAllAsync(host.Client, $"/api/runs/{id}/events");

        var late = await ServerSentEvents.ReadAllAsync(host.Client, $"/api/runs/{id}/events");

        Assert.Equal(["run_state", "run_ended"], late.Select(e => e.Kind));
        Assert.Equal("completed", late[0].Data["status"]!.GetValue<string>());
        Assert.Equal(live[^1].Data.ToJsonString(), late[^1].Data.ToJsonString());
    }

    [Fact]
    public async Task Failed_node_marks_the_run_failed_with_the_error()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var id = await host.SubmitAsync(new
        {
            yaml = """
                flowdiffusion: 1
                nodes:
                  boom: { node: test.throw, with: { message: the kettle boiled over } }
                """,
        });

        var run = await host.WaitAsync(id);

        Assert.Equal("failed", run["status"]!.GetValue<string>());
        Assert.Contains("the kettle boiled over", run["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task Runs_list_filters_by_status_and_pages_newest_first()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++) ids.Add(await host.SubmitAsync(new { yaml = Workflows.Sum, inputs = new { a = i } }));
        foreach (var id in ids) await host.WaitAsync(id);

        var page = JsonNode.Parse(await host.Client.GetStringAsync("/api/runs?status=completed&offset=1&limit=1"))!;
        Assert.Equal(3, page["total"]!.GetValue<int>());
        Assert.Equal(ids[1], Assert.Single(page["runs"]!.AsArray())!["id"]!.GetValue<string>());
        var none = JsonNode.Parse(await host.Client.GetStringAsync("/api/runs?status=failed"))!;
        Assert.Equal(0, none["total"]!.GetValue<int>());
        using var bad = await host.Client.GetAsync("/api/runs?status=exploded");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Delete_removes_a_finished_run_and_its_files_but_refuses_an_active_one()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var done = await host.SubmitAsync(new { yaml = Workflows.Sum });
        await host.WaitAsync(done);
        var active = await host.SubmitAsync(new { yaml = Workflows.Slow(60_000, "active") });
        await host.WaitAsync(active, "running");

        using (var response = await host.Client.DeleteAsync($"/api/runs/{done}"))
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        using (var response = await host.Client.GetAsync($"/api/runs/{done}"))
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.False(Directory.Exists(Path.Combine(host.Outputs, done)));
        using (var response = await host.Client.DeleteAsync($"/api/runs/{active}"))
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        await host.Client.PostAsync($"/api/runs/{active}/cancel", null);
    }

    [Fact]
    public async Task History_and_outputs_survive_a_restart_on_the_same_data_folder()
    {
        string id;
        await using (var first = await ApiHost.StartAsync(_folder.Path))
        {
            id = await first.SubmitAsync(new { yaml = Workflows.Sum, inputs = new { a = 10 } }, idempotencyKey: "once");
            await first.WaitAsync(id);
        }

        await using var second = await ApiHost.StartAsync(_folder.Path);
        var run = await second.RunAsync(id);

        Assert.Equal("completed", run["status"]!.GetValue<string>());
        Assert.Equal("13", await second.Client.GetStringAsync(run["outputs"]![0]!["url"]!.GetValue<string>()));
        Assert.Equal(id, await second.SubmitAsync(new { yaml = Workflows.Sum }, idempotencyKey: "once"));
    }
}
