using System.Diagnostics;
using System.Text.Json.Nodes;
using FlowDiffusion.Client;

namespace FlowDiffusion.LoadTest;

/// <summary>The few calls of the run API the load test makes.</summary>
internal static class RunApi
{
    /// <summary>Submits txt2img on <paramref name="model"/> at 64×64 with <paramref name="seed"/>; the id and the request's round trip.</summary>
    public static async Task<(string Id, TimeSpan Elapsed)> SubmitAsync(HttpClient client, string model, int seed, int steps, string idempotencyKey,
        CancellationToken cancellationToken)
    {
        var inputs = new { model, prompt = "a red circle on a blue background", seed, steps, cfg = 2.0, width = 64, height = 64 };
        var clock = Stopwatch.StartNew();
        var id = await new FlowDiffusionClient(client).SubmitWorkflowAsync("txt2img", inputs, idempotencyKey: idempotencyKey, cancellationToken: cancellationToken);
        return (id, clock.Elapsed);
    }

    /// <summary>Every run the server knows, through the paged list.</summary>
    public static async Task<List<JsonNode>> AllRunsAsync(HttpClient client, CancellationToken cancellationToken)
    {
        var runs = new List<JsonNode>();
        while (true)
        {
            var page = JsonNode.Parse(await client.GetStringAsync($"/api/runs?offset={runs.Count}&limit=200", cancellationToken))!;
            var batch = page["runs"]!.AsArray();
            runs.AddRange(batch.Select(r => r!.DeepClone()));
            if (batch.Count == 0 || runs.Count >= page["total"]!.GetValue<int>()) return runs;
        }
    }

    /// <summary>How many runs are in <paramref name="status"/>.</summary>
    public static async Task<int> CountAsync(HttpClient client, string status, CancellationToken cancellationToken) =>
        (await new FlowDiffusionClient(client).ListRunsAsync(limit: 1, status: status, cancellationToken: cancellationToken)).Total;

    /// <summary>Samples how many runs are queued and running every <paramref name="period"/> until cancelled; the peaks.</summary>
    public static async Task<(int Queued, int Running)> SampleQueueAsync(HttpClient client, TimeSpan period, CancellationToken cancellationToken)
    {
        var (queued, running) = (0, 0);
        try
        {
            while (true)
            {
                queued = Math.Max(queued, await CountAsync(client, "queued", cancellationToken));
                running = Math.Max(running, await CountAsync(client, "running", cancellationToken));
                await Task.Delay(period, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return (queued, running);
        }
    }

    /// <summary>Polls until no run is queued or running, or the deadline passes.</summary>
    public static async Task WaitIdleAsync(HttpClient client, DateTime deadline, CancellationToken cancellationToken)
    {
        while (await CountAsync(client, "queued", cancellationToken) + await CountAsync(client, "running", cancellationToken) > 0)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("runs still queued or running at the deadline");
            await Task.Delay(250, cancellationToken);
        }
    }
}
