using System.Text.Json.Nodes;
using FlowDiffusion.Server.Api;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Server.Tests.OpenApi;

/// <summary>
/// The OpenAPI document names every server-sent event type of <c>GET /api/runs/{id}/events</c> with the schema of its
/// data (the stream's <c>x-sse-events</c>), and what real streams send conforms: an unlisted event name, a missing or
/// extra field or a wrong type fails.
/// </summary>
public sealed class EventStreamDocumentTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static JsonObject EventTypes(JsonNode document) =>
        document["paths"]!["/api/runs/{id}/events"]!["get"]!["responses"]!["200"]!["content"]!["text/event-stream"]!["x-sse-events"]!.AsObject();

    [Fact]
    public async Task The_document_names_each_event_type_with_a_schema_whose_kind_is_that_name()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var document = JsonNode.Parse(await host.Client.GetStringAsync("/openapi/v1.json"))!;

        var types = EventTypes(document);

        Assert.Equal(["run_state", "run_started", "node_started", "node_cached", "node_finished", "node_failed", "progress", "preview", "output", "metric", "log", "run_ended"],
            types.Select(t => t.Key));
        foreach (var (kind, reference) in types)
        {
            var name = reference!["$ref"]!.GetValue<string>()["#/components/schemas/".Length..];
            var schema = document["components"]!["schemas"]![name]!;
            Assert.Equal([kind], schema["properties"]!["kind"]!["enum"]!.AsArray().Select(e => e!.GetValue<string>()));
            Assert.Contains("kind", schema["required"]!.AsArray().Select(r => r!.GetValue<string>()));
        }
    }

    [Fact]
    public async Task Every_event_real_streams_send_is_a_documented_type_and_its_data_matches_that_schema()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path, [.. RepositoryRoot.StableDiffusionSettings, ("FlowDiffusion:PluginFolders:1", RepositoryRoot.TestPlugins)]);
        var document = JsonNode.Parse(await host.Client.GetStringAsync("/openapi/v1.json"))!;
        var checker = new JsonSchemaChecker(document);
        var types = EventTypes(document);
        // The shipped txt2img with a preview after every step.
        var yaml = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "workflows", "txt2img.yaml"))
            .Replace("    node: diffusion.sample\n", "    node: diffusion.sample\n    with: { preview_every: 1 }\n", StringComparison.Ordinal);
        Assert.Contains("preview_every", yaml);
        var txt2img = new { yaml, inputs = new { model = "models/analytic-sd", prompt = "a blue ball", cfg = 1, width = 64, height = 64, steps = 3 } };
        // A run that has already ended answers with its stored state alone, without node_failed: see the blocker below.
        var failing = new { yaml = "flowdiffusion: 1\nnodes:\n  start: { node: test.number, with: { value: 1 } }\n  wait: { node: test.delay, in: { value: start.result }, with: { milliseconds: 1000, steps: 2 } }\n  boom: { node: test.throw, in: { value: wait.result } }\n" };

        var events = new List<ServerSentEvents.Event>();
        // Each watched from the start (live events) and joined again after its end (run_state from the stored record):
        // txt2img (progress, previews, metrics, an output), a small graph twice (its nodes cached the second time, as a
        // rule) and a failing node.
        var sum = new { yaml = Workflows.Sum };
        // Each waits behind a blocker run that is cancelled only once its stream is attached, so no live event can pass
        // before the subscription (a fast run on a loaded machine could otherwise end first, its metrics unseen).
        var blocker = new { yaml = Workflows.Slow(120_000, "blocker") };
        foreach (var body in new object[] { txt2img, sum, sum, failing })
        {
            var blockerId = await host.SubmitAsync(blocker);
            await host.WaitAsync(blockerId, "running");
            var id = await host.SubmitAsync(body);
            events.AddRange(await ServerSentEvents.ReadAllAsync(host.Client, $"/api/runs/{id}/events",
                async () => (await host.Client.PostAsync($"/api/runs/{blockerId}/cancel", null)).EnsureSuccessStatusCode()));
            await host.WaitAsync(id, TimeSpan.FromMinutes(2));
            events.AddRange(await ServerSentEvents.ReadAllAsync(host.Client, $"/api/runs/{id}/events"));
        }
        // A log line comes only from a re-attempt, and a cached node only while the engine's output cache keeps the
        // first run's values (under memory pressure it may not): their wire forms, from the same writer the stream uses.
        events.Add(new ServerSentEvents.Event(RunMessage.LogKind,
            RunMessageJson.Write(new RunMessage("r1", 7, RunMessage.LogKind, DateTimeOffset.UtcNow, 0.5, 3.25) { Text = "attempt 2: an earlier attempt did not finish" })));
        var cached = new FlowDiffusion.Engine.Execution.NodeCached("r1", DateTimeOffset.UtcNow, "first", "test.number");
        events.Add(new ServerSentEvents.Event(cached.Kind,
            RunMessageJson.Write(new RunMessage("r1", 3, cached.Kind, cached.Time, 0.25, null) { Event = cached })));

        var failures = new List<string>();
        foreach (var e in events)
        {
            if (types[e.Kind] is not { } reference)
            {
                failures.Add($"event '{e.Kind}' is not one the document lists");
                continue;
            }
            Assert.Equal(e.Kind, e.Data["kind"]!.GetValue<string>());
            failures.AddRange(checker.Check(e.Data, reference).Select(f => $"{e.Kind}: {f}"));
        }
        Assert.Empty(failures);
        // Every documented type was seen and checked.
        Assert.Equal(types.Select(t => t.Key).Order(StringComparer.Ordinal), events.Select(e => e.Kind).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_event_with_a_field_of_the_wrong_type_one_the_schema_lacks_or_another_kind_does_not_match()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var document = JsonNode.Parse(await host.Client.GetStringAsync("/openapi/v1.json"))!;
        var checker = new JsonSchemaChecker(document);
        var schema = EventTypes(document)["progress"]!;
        var progress = JsonNode.Parse("""{"v":1,"kind":"progress","run_id":"r","seq":3,"time":"2026-12-05T01:00:00+00:00","overall":0.5,"eta_seconds":null,"node":"sample","fraction":0.5,"step":2,"total_steps":4,"message":null}""")!;

        Assert.Empty(checker.Check(progress, schema));
        var wrongType = progress.DeepClone();
        wrongType["step"] = "two";
        Assert.Contains(checker.Check(wrongType, schema), e => e.Contains("$.step", StringComparison.Ordinal));
        var extra = progress.DeepClone();
        extra["stage"] = 1;
        Assert.Contains(checker.Check(extra, schema), e => e.Contains("'stage'", StringComparison.Ordinal));
        var otherKind = progress.DeepClone();
        otherKind["kind"] = "preview";
        Assert.NotEmpty(checker.Check(otherKind, schema));
        var missing = progress.AsObject().DeepClone().AsObject();
        missing.Remove("fraction");
        Assert.Contains(checker.Check(missing, schema), e => e.Contains("'fraction'", StringComparison.Ordinal));
    }
}
