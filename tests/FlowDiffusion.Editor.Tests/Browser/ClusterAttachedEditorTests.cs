using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FlowDiffusion.Cluster.Tests;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>
/// The editor watching a cluster: redis-server, <c>flowdiffusion serve --cluster</c> and two <c>flowdiffusion worker</c>
/// processes, the editor started with <c>--server</c> on the coordinator. Three runs queued from the page (×3) go to the
/// workers; the page shows their progress and images live, and the API names the worker that ran each.
/// </summary>
[Collection(AttachedEditorCollection.Name)]
public sealed class ClusterAttachedEditorTests(ITestOutputHelper output)
{
    private const int Steps = 400; // long enough that the third run still waits when its event stream is opened, even on an idle machine

    [SkippableFact]
    public async Task Editor_attached_to_a_cluster_coordinator_shows_live_progress_of_runs_executed_on_worker_processes()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        Skip.IfNot(ClusterProcesses.Available, "needs Debian's redis-server (.ci/run installs it)");
        await using var cluster = await ClusterProcesses.StartAsync(output, ["w1", "w2"], "FlowDiffusion:Cluster:HeartbeatSeconds=0.2");
        var coordinator = cluster.Client.BaseAddress!.ToString().TrimEnd('/');
        var editor = EditorServer.AttachedTo("editor-cluster", coordinator, null);
        try
        {
            await editor.InitializeAsync();
            var page = await editor.OpenAsync();
            page.SetDefaultTimeout(60_000);
            Assert.Equal($"⇄ {coordinator}", (await page.InnerTextAsync("#server")).Trim());
            await AttachedPage.TinyRunAsync(page, Steps);
            await AttachedPage.WatchAsync(page);
            await page.FillAsync("#run-count", "3");
            await page.Locator("#run-count").DispatchEventAsync("change");
            await page.ClickAsync("#run");

            // Two workers, one slot each: the first two runs start at once, the third waits for a free worker. Its event
            // stream on the API, opened while it waits, names the worker that takes it.
            // The page submits the three one after another: wait until both runs after the first are listed.
            await page.WaitForSelectorAsync(".fd-run-queue[data-queued='2'] li[data-run]");
            var first = (await page.GetAttributeAsync(".fd-run-status", "data-run"))!;
            var queued = await page.Locator(".fd-run-queue li[data-run]").EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.run)");
            Assert.Equal(2, queued.Length);
            var claim = await ClaimLineAsync(cluster.Client, queued[^1]);
            output.WriteLine($"run {queued[^1]}: {claim}");
            Assert.Matches(@"^attempt 1 on \S+\|(w1|w2)\|0 ", claim);

            string[] all = [first, .. queued];
            foreach (var id in all)
            {
                var run = await cluster.WaitFinalAsync(id);
                Assert.Equal("completed", run["status"]!.GetValue<string>());
                Assert.Equal(1, run["attempts"]!.GetValue<int>());
                // Executed by a worker process, not by the coordinator.
                Assert.Matches($@"Run {id} attempt 1 → \S+\|(w1|w2)\|0", cluster.Server.Log);
            }
            await page.WaitForSelectorAsync($".fd-run-status[data-run='{queued[^1]}'][data-outcome=done]", new PageWaitForSelectorOptions { Timeout = 120_000 });
            var workers = all.Select(id => Regex.Match(cluster.Server.Log, $@"Run {id} attempt 1 → \S+\|(w\d)\|0").Groups[1].Value).ToList();
            output.WriteLine("workers: " + string.Join(", ", workers));

            // Live in the page while the workers ran: node states, climbing steps of the sampler, a latent preview, then the image.
            var (states, steps, previews) = await AttachedPage.SeenAsync(page);
            output.WriteLine($"states: {string.Join(" ", states)}; steps seen: {steps.Count}; previews: {previews}");
            Assert.Contains("sample:fd-state-running", states);
            Assert.Contains(steps, s => s.Step > 0 && s.Step < s.Total);
            Assert.All(steps, s => Assert.Equal(Steps, s.Total));
            Assert.True(previews > 0, "no latent preview appeared on the sampler");
            var last = await cluster.RunAsync(queued[^1]);
            var image = await cluster.Client.GetByteArrayAsync(last["outputs"]![0]!["url"]!.GetValue<string>());
            Assert.Equal("data:image/png;base64," + Convert.ToBase64String(image), await page.GetAttributeAsync(".fd-gallery img.fd-output", "src"));
            // The history panel is the coordinator's: all three, completed.
            foreach (var id in all) await page.WaitForSelectorAsync($".fd-history-run[data-run='{id}'][data-status=completed]");
        }
        finally
        {
            await editor.DisposeAsync();
        }
    }

    // The log line the coordinator sends on the run's event stream when a worker claims it.
    private static async Task<string> ClaimLineAsync(HttpClient api, string id)
    {
        using var response = await api.GetAsync($"/api/runs/{id}/events", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            var data = JsonNode.Parse(line["data: ".Length..])!;
            var kind = data["kind"]!.GetValue<string>();
            Assert.NotEqual("run_ended", kind);
            if (kind == "run_state") Assert.Equal("queued", data["status"]!.GetValue<string>());
            if (kind == "log" && data["message"]!.GetValue<string>() is { } message && message.StartsWith("attempt ", StringComparison.Ordinal)) return message;
        }
        throw new InvalidOperationException($"the event stream of run {id} ended without a claim");
    }
}
