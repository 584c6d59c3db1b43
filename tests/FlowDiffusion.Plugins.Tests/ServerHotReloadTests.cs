using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace FlowDiffusion.Plugins.Tests;

/// <summary>
/// Hot reload end to end: the host <c>flowdiffusion serve</c> runs, on a loopback port, over a plugin folder the test
/// fills while it runs, driven over HTTP as a client would — no reload call, only files dropped in.
/// </summary>
public sealed class ServerHotReloadTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly string[] Finished = ["completed", "failed", "cancelled", "interrupted"];

    [Fact]
    public async Task Server_serves_a_dropped_pack_then_its_rebuild_to_the_next_run_while_the_run_in_flight_finishes_on_the_old_build()
    {
        var packs = PluginBuilds.OfflineBuilt;
        var (app, plugins) = CreateServer();
        await using var _ = app;
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.Single()), Timeout = TimeSpan.FromSeconds(30) };

        Assert.Null(await NodeVersionAsync(client, "reload.greeting"));
        Scratch.CopyTree(packs.ReloadV1, Path.Combine(plugins, "reloadable"));
        await UntilNodeVersionAsync(client, "reload.greeting", "1.0.0");

        var inFlight = await SubmitAsync(client, Greeting(delayMs: 10_000));
        await NodeStartedAsync(client, inFlight, "greet");
        Scratch.CopyTree(packs.ReloadV2, Path.Combine(plugins, "reloadable"));
        await UntilNodeVersionAsync(client, "reload.greeting", "2.0.0");
        var statusWhenReloaded = (await RunAsync(client, inFlight))["status"]!.GetValue<string>();

        var next = await SubmitAsync(client, Greeting(delayMs: 0));
        var nextRun = await FinishedAsync(client, next);
        var oldRun = await FinishedAsync(client, inFlight);

        Assert.Equal("running", statusWhenReloaded);
        Assert.Equal("1.0.0", await NodeVersionAsync(client, "reload.added"));
        Assert.True(nextRun["status"]!.GetValue<string>() == "completed", nextRun.ToJsonString());
        Assert.True(oldRun["status"]!.GetValue<string>() == "completed", oldRun.ToJsonString());
        Assert.Equal("greeting from build 2", await OutputTextAsync(client, nextRun, "greeting-greet.txt"));
        Assert.Equal("greeting from build 1", await OutputTextAsync(client, oldRun, "greeting-greet.txt"));
    }

    [Fact]
    public async Task Server_that_has_stopped_no_longer_reloads()
    {
        var (app, plugins) = CreateServer();
        await using var _ = app;
        await app.StartAsync();
        var engine = app.Services.GetRequiredService<FlowDiffusionEngine>();

        await app.StopAsync();
        Scratch.CopyTree(PluginBuilds.OfflineBuilt.ReloadV1, Path.Combine(plugins, "reloadable"));
        await Task.Delay(TimeSpan.FromSeconds(2));

        Assert.Null(engine.Catalog.Find("reload.greeting"));
    }

    [Fact]
    public async Task Server_with_watching_switched_off_keeps_the_plugins_it_started_with()
    {
        var (app, plugins) = CreateServer(("FlowDiffusion:WatchPlugins", "false"));
        await using var _ = app;
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.Single()), Timeout = TimeSpan.FromSeconds(30) };

        Scratch.CopyTree(PluginBuilds.OfflineBuilt.ReloadV1, Path.Combine(plugins, "reloadable"));
        await Task.Delay(TimeSpan.FromSeconds(2));

        Assert.Null(await NodeVersionAsync(client, "reload.greeting"));
    }

    // The serve host over an empty plugin folder that reloads 0.3 s after files settle.
    private static (WebApplication App, string Plugins) CreateServer(params (string Key, string Value)[] settings)
    {
        var root = Scratch.NewFolder("server");
        var plugins = Directory.CreateDirectory(Path.Combine(root, "plugins")).FullName;
        var config = new Dictionary<string, string?>
        {
            ["FlowDiffusion:PluginFolders:0"] = plugins,
            ["FlowDiffusion:WorkflowsFolder"] = Path.Combine(root, "workflows"),
            ["FlowDiffusion:OutputFolder"] = Path.Combine(root, "outputs"),
            ["FlowDiffusion:DataFolder"] = Path.Combine(root, "data"),
            ["FlowDiffusion:PluginReloadDelaySeconds"] = "0.3",
            // A run in flight and the next run execute side by side.
            ["FlowDiffusion:Server:MaxConcurrentRuns"] = "2",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings) config[key] = value;
        return (ServerHost.Create(["http://127.0.0.1:0"], config), plugins);
    }

    private static string Greeting(int delayMs) => $$"""
        flowdiffusion: 1
        name: greet
        nodes:
          greet: { node: reload.greeting, with: { delay_ms: {{delayMs}} } }
        """;

    private static async Task<string?> NodeVersionAsync(HttpClient client, string nodeId)
    {
        var nodes = JsonNode.Parse(await client.GetStringAsync("/api/nodes"))!["nodes"]!.AsArray();
        return nodes.FirstOrDefault(n => n!["id"]!.GetValue<string>() == nodeId)?["version"]!.GetValue<string>();
    }

    private static async Task UntilNodeVersionAsync(HttpClient client, string nodeId, string version)
    {
        var deadline = DateTime.UtcNow + Patience;
        string? seen;
        while ((seen = await NodeVersionAsync(client, nodeId)) != version)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"GET /api/nodes still lists {nodeId} as {seen ?? "missing"} after {Patience.TotalSeconds} s; wanted {version}");
            await Task.Delay(50);
        }
    }

    private static async Task<string> SubmitAsync(HttpClient client, string yaml)
    {
        using var response = await client.PostAsJsonAsync("/api/runs", new { yaml });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, text);
        return JsonNode.Parse(text)!["id"]!.GetValue<string>();
    }

    private static async Task<JsonNode> RunAsync(HttpClient client, string id) => JsonNode.Parse(await client.GetStringAsync($"/api/runs/{id}"))!;

    private static async Task<JsonNode> FinishedAsync(HttpClient client, string id)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var run = await RunAsync(client, id);
            if (Finished.Contains(run["status"]!.GetValue<string>())) return run;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"run {id} still {run["status"]} after {Patience.TotalSeconds} s");
            await Task.Delay(50);
        }
    }

    // The event stream starts with the run's state (run_state) and then goes live: the node running in that state, or a
    // later node_started, means its plan (and node types) are fixed.
    private static async Task NodeStartedAsync(HttpClient client, string id, string node)
    {
        using var timeout = new CancellationTokenSource(Patience);
        using var response = await client.GetAsync($"/api/runs/{id}/events", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            var data = JsonNode.Parse(line["data: ".Length..])!;
            if (data["kind"]?.GetValue<string>() == "node_started" && data["node"]?.GetValue<string>() == node) return;
            if (data["kind"]?.GetValue<string>() == "run_state" && data["nodes"]?[node]?["state"]?.GetValue<string>() == "running") return;
        }
        Assert.Fail($"run {id} ended before node '{node}' started");
    }

    private static async Task<string> OutputTextAsync(HttpClient client, JsonNode run, string file)
    {
        var output = run["outputs"]!.AsArray().SingleOrDefault(o => o!["file"]!.GetValue<string>() == file);
        Assert.True(output is not null, $"run {run["id"]} lists no output {file}: {run.ToJsonString()}");
        return await client.GetStringAsync(output["url"]!.GetValue<string>());
    }
}
