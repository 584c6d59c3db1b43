using System.Text.Json.Nodes;
using FlowDiffusion.Server.Tests.OpenApi;

namespace FlowDiffusion.Server.Tests;

public sealed class WarmUpApiTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task The_warm_up_runs_the_saved_workflow_before_the_first_queued_run_and_leaves_no_record()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path, [.. RepositoryRoot.StableDiffusionSettings,
            ("FlowDiffusion:Server:WarmUp", "txt2img"),
            ("FlowDiffusion:Server:WarmUpInputs:model", "models/analytic-sd"),
            ("FlowDiffusion:Server:WarmUpInputs:prompt", "a blue ball"),
            ("FlowDiffusion:Server:WarmUpInputs:cfg", "1"),
            ("FlowDiffusion:Server:WarmUpInputs:width", "64"),
            ("FlowDiffusion:Server:WarmUpInputs:height", "64"),
            ("FlowDiffusion:Server:WarmUpInputs:steps", "4")]);

        // Submitted at once: it waits in the queue until the warm-up has run.
        var id = await host.SubmitAsync(new
        {
            workflow = "txt2img",
            inputs = new { model = "models/analytic-sd", prompt = "a green ball", cfg = 1, width = 64, height = 64, steps = 4 },
        });
        var run = await host.WaitAsync(id, TimeSpan.FromMinutes(2));

        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        var warmUp = (await Health(host))["warm_up"]!;
        Assert.Equal("txt2img", warmUp["workflow"]!.GetValue<string>());
        Assert.True(warmUp["state"]!.GetValue<string>() == "done", warmUp.ToJsonString());
        Assert.True(warmUp["seconds"]!.GetValue<double>() > 0);
        Assert.Null(warmUp["error"]);

        // The run found what the warm-up computed: the loaded model and the empty negative prompt's encoding, not its own prompt's.
        var cached = run["nodes"]!.AsArray().ToDictionary(n => n!["node"]!.GetValue<string>(), n => n!["cached"]!.GetValue<bool>());
        Assert.True(cached["model"], run["nodes"]!.ToJsonString());
        Assert.True(cached["negative"], run["nodes"]!.ToJsonString());
        Assert.False(cached["positive"], run["nodes"]!.ToJsonString());

        // Off the record: no run in the history, no files in the outputs but the request's.
        var page = JsonNode.Parse(await host.Client.GetStringAsync("/api/runs"))!;
        Assert.Equal(id, Assert.Single(page["runs"]!.AsArray())!["id"]!.GetValue<string>());
        Assert.Equal([id], Directory.GetDirectories(host.Outputs).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("no-such-workflow", "width", "64", "no saved workflow 'no-such-workflow'")]
    [InlineData("../../etc/passwd", "width", "64", "no saved workflow '../../etc/passwd'")]
    [InlineData("txt2img", "width", "wide", "input 'width'")]
    [InlineData("txt2img", "model", "models/no-such-model", "no-such-model")]
    public async Task A_warm_up_that_cannot_run_is_reported_and_the_server_serves_anyway(string workflow, string input, string value, string expected)
    {
        await using var host = await ApiHost.StartAsync(_folder.Path, [.. RepositoryRoot.StableDiffusionSettings,
            ("FlowDiffusion:Server:WarmUp", workflow),
            ("FlowDiffusion:Server:WarmUpInputs:" + input, value),
            ("FlowDiffusion:Server:WarmUpInputs:steps", "1")]);

        var id = await host.SubmitAsync(new
        {
            workflow = "txt2img",
            inputs = new { model = "models/analytic-sd", prompt = "a blue ball", cfg = 1, width = 64, height = 64, steps = 2 },
        });
        var run = await host.WaitAsync(id, TimeSpan.FromMinutes(2));

        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        var health = await Health(host);
        Assert.Equal("ok", health["status"]!.GetValue<string>());
        var warmUp = health["warm_up"]!;
        Assert.True(warmUp["state"]!.GetValue<string>() == "failed", warmUp.ToJsonString());
        Assert.Contains(expected, warmUp["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal([id], Directory.GetDirectories(host.Outputs).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_host_that_executes_no_runs_says_its_warm_up_will_not_run()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path, [.. RepositoryRoot.StableDiffusionSettings,
            ("FlowDiffusion:Server:WarmUp", "txt2img"), ("FlowDiffusion:Server:ExecuteRuns", "false")]);

        var warmUp = (await Health(host))["warm_up"]!;
        for (var deadline = DateTime.UtcNow.AddSeconds(30); warmUp["state"]!.GetValue<string>() == "waiting" && DateTime.UtcNow < deadline; await Task.Delay(50))
            warmUp = (await Health(host))["warm_up"]!;

        Assert.True(warmUp["state"]!.GetValue<string>() == "failed", warmUp.ToJsonString());
        Assert.Contains("executes no runs", warmUp["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_warm_up_health_says_nothing_of_one()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path, RepositoryRoot.StableDiffusionSettings);

        var health = await Health(host);

        Assert.Equal("ok", health["status"]!.GetValue<string>());
        Assert.False(health.AsObject().ContainsKey("warm_up"));
    }

    // The health answer, checked against the schema the server's OpenAPI document gives it.
    private static async Task<JsonNode> Health(ApiHost host)
    {
        var health = JsonNode.Parse(await host.Client.GetStringAsync("/api/health"))!;
        var document = JsonNode.Parse(await host.Client.GetStringAsync("/openapi/v1.json"))!;
        Assert.Empty(new JsonSchemaChecker(document).Check(health, document["components"]!["schemas"]!["Health"]!));
        return health;
    }
}
