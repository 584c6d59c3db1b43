using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace FlowDiffusion.Cluster.Tests;

/// <summary>
/// <c>FlowDiffusion:Server:WarmUp</c> on a cluster: each <c>flowdiffusion worker</c> runs the saved workflow once before its
/// first claim, so the first run it executes finds the model loaded; the coordinator, which executes nothing, says so.
/// </summary>
public sealed class WorkerWarmUpTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task A_worker_warms_up_before_its_first_claim_and_its_first_run_finds_the_model_loaded()
    {
        Skip.IfNot(ClusterProcesses.Available, "needs Debian's redis-server (.ci/run installs it)");
        await using var cluster = await ClusterProcesses.StartAsync(output, ["warm"],
            "FlowDiffusion:Server:WarmUp=txt2img", "FlowDiffusion:Server:WarmUpInputs:model=models/tiny-sd",
            "FlowDiffusion:Server:WarmUpInputs:prompt=warm up", "FlowDiffusion:Server:WarmUpInputs:steps=2",
            "FlowDiffusion:Server:WarmUpInputs:width=128", "FlowDiffusion:Server:WarmUpInputs:height=128");

        await cluster.Workers["warm"].WaitForAsync(@"Warm-up: txt2img ran in [\d.]+ s", TimeSpan.FromMinutes(2));
        var id = await cluster.SubmitAsync(2, size: 128);
        JsonNode run;
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while ((run = await cluster.RunAsync(id))["status"]!.GetValue<string>() is "queued" or "running" && DateTime.UtcNow < deadline) await Task.Delay(100);

        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        Assert.Matches($@"Run {id} attempt 1 → \S+\|warm\|0", cluster.Server.Log);
        // The model came from the worker's warm-up; the prompt (the workflow's default, not "warm up") was encoded anew.
        var cached = run["nodes"]!.AsArray().ToDictionary(n => n!["node"]!.GetValue<string>(), n => n!["cached"]!.GetValue<bool>());
        Assert.True(cached["model"], run["nodes"]!.ToJsonString());
        Assert.False(cached["positive"], run["nodes"]!.ToJsonString());
        // Off the record: the coordinator's history holds the one submitted run.
        var page = JsonNode.Parse(await cluster.Client.GetStringAsync("/api/runs"))!;
        Assert.Equal(id, Assert.Single(page["runs"]!.AsArray())!["id"]!.GetValue<string>());
        var warmUp = JsonNode.Parse(await cluster.Client.GetStringAsync("/api/health"))!["warm_up"]!;
        Assert.True(warmUp["state"]!.GetValue<string>() == "failed", warmUp.ToJsonString());
        Assert.Contains("executes no runs", warmUp["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
