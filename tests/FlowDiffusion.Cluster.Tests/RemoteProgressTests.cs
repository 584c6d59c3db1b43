using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace FlowDiffusion.Cluster.Tests;

/// <summary>
/// A run executed by a <c>flowdiffusion worker</c> process shows its progress live on the coordinator's SSE stream
/// (<c>GET /api/runs/{id}/events</c>). The editor reads the same stream of the same run backend
/// (<c>IRunBackend.SubscribeAsync</c>, as the SSE endpoint does), so this is what its run view shows too.
/// </summary>
public sealed class RemoteProgressTests(ITestOutputHelper output)
{
    private const int Steps = 100;

    [SkippableFact]
    public async Task The_event_stream_shows_live_progress_of_a_run_executed_on_a_remote_worker()
    {
        Skip.IfNot(ClusterProcesses.Available, "needs Debian's redis-server (.ci/run installs it)");
        // Heartbeats (which carry the events) every 0.1 s: the run's steps reach the stream in many batches while it runs.
        await using var cluster = await ClusterProcesses.StartAsync(output, ["remote"], "FlowDiffusion:Cluster:HeartbeatSeconds=0.1");
        // 256²: long enough to be still running at the first progress on an idle machine (at 64² it was not).
        var id = await cluster.SubmitAsync(Steps, size: 256);

        var events = new List<(string Kind, JsonNode Data)>();
        string? statusAtFirstProgress = null;
        using (var response = await cluster.Client.GetAsync($"/api/runs/{id}/events", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            string? kind = null;
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal)) kind = line["event: ".Length..];
                if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                var data = JsonNode.Parse(line["data: ".Length..])!;
                events.Add((kind!, data));
                // Live, not replayed at the end: when the first sampling step arrives, the worker is still at it.
                if (kind == "progress" && data["node"]?.GetValue<string>() == "sample" && statusAtFirstProgress is null)
                    statusAtFirstProgress = (await cluster.RunAsync(id))["status"]!.GetValue<string>();
            }
        }

        // It ran on the worker process, not in the server.
        Assert.Matches($@"Run {id} attempt 1 → \S+\|remote\|0", cluster.Server.Log);
        Assert.Equal("running", statusAtFirstProgress);
        var steps = events.Where(e => e.Kind == "progress" && e.Data["node"]?.GetValue<string>() == "sample")
            .Select(e => (Step: e.Data["step"]!.GetValue<int>(), Total: e.Data["total_steps"]!.GetValue<int>())).ToList();
        // The sampling steps in order, each as its own message, up to the last (a reader this quick gets every one; the
        // stream may shed superseded progress only for a reader more than a queue behind).
        Assert.Equal(steps.Select(s => s.Step).Distinct().Order(), steps.Select(s => s.Step));
        Assert.InRange(steps.Count, 10, Steps);
        Assert.Equal(Steps, steps[^1].Step);
        Assert.All(steps, s => Assert.Equal(Steps, s.Total));
        var overall = events.Where(e => e.Kind == "progress").Select(e => e.Data["overall"]!.GetValue<double>()).ToList();
        Assert.Equal(overall.Order(), overall);
        Assert.Contains(events, e => e.Kind == "node_finished" && e.Data["node"]?.GetValue<string>() == "decode");
        var (lastKind, last) = events[^1];
        Assert.Equal(("run_ended", "completed"), (lastKind, last["status"]!.GetValue<string>()));
        Assert.Single(last["outputs"]!.AsArray());
    }
}
