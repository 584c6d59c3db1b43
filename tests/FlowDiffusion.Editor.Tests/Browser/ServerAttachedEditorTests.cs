using System.Net;
using System.Text.Json;
using FlowDiffusion.Client;
using FlowDiffusion.Cluster.Tests;
using FlowDiffusion.Editor.Running;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static FlowDiffusion.Editor.Tests.Browser.PageSteps;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>
/// <c>flowdiffusion editor --server URL --api-key KEY</c> against a real <c>flowdiffusion serve</c> process: the run is
/// queued on the server and shown live in the page, its image comes from the server, the history is the server's; a
/// wrong key is named with its status, and a server killed mid-run is said in the status bar, the graph stays, and the
/// run is followed again when the server is back.
/// </summary>
[Collection(AttachedEditorCollection.Name)]
public sealed class ServerAttachedEditorTests(ITestOutputHelper output)
{
    private const string Key = "attached-editor-key";

    [SkippableFact]
    public async Task Editor_started_with_server_queues_there_shows_live_progress_and_the_servers_image_and_follows_the_run_across_a_server_restart()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        Skip.If(Cli.Assembly is null, "the flowdiffusion CLI is not built");
        using var scratch = new TempFolder();
        var url = $"http://127.0.0.1:{EditorServer.FreePort()}";
        var serve = await StartServeAsync(url, scratch.Path);
        using var api = Api(url);
        var editor = EditorServer.AttachedTo("editor-attached", url, Key);
        try
        {
            await editor.InitializeAsync();
            var page = await editor.OpenAsync();
            page.SetDefaultTimeout(60_000);
            Assert.Equal($"⇄ {url}", (await page.InnerTextAsync("#server")).Trim());
            // The editor serves no API of its own: the server's is the one.
            using (var own = new HttpClient()) Assert.Equal(HttpStatusCode.NotFound, (await own.GetAsync(editor.Url + "/api/runs")).StatusCode);

            await AttachedPage.TinyRunAsync(page, steps: 60);
            await page.WaitForSelectorAsync("#server[data-state=ok]");
            Assert.Equal(0, await page.Locator("#server-warning").CountAsync());
            await AttachedPage.WatchAsync(page);
            await page.ClickAsync("#run");
            await page.WaitForSelectorAsync(".fd-run-status[data-outcome=done]", new PageWaitForSelectorOptions { Timeout = 240_000 });
            var runId = (await page.GetAttributeAsync(".fd-run-status", "data-run"))!;

            // Live: the sampler ran, steps climbed one render at a time before the end, and a latent preview showed on it.
            var (states, steps, previews) = await AttachedPage.SeenAsync(page);
            output.WriteLine($"states: {string.Join(" ", states)}; steps seen: {string.Join(",", steps.Select(s => s.Step))}; previews: {previews}");
            Assert.Contains("sample:fd-state-running", states);
            Assert.Contains("decode:fd-state-done", states);
            Assert.Contains(steps, s => s.Step < s.Total);
            Assert.All(steps, s => Assert.Equal(60, s.Total));
            Assert.Equal(steps.Select(s => s.Step).Order(), steps.Select(s => s.Step));
            Assert.True(previews > 0, "no latent preview appeared on the sampler");

            // The run is the server's: completed in its run list, and the gallery shows exactly the bytes it serves.
            var runs = JsonDocument.Parse(await api.GetStringAsync("/api/runs?limit=10")).RootElement.GetProperty("runs");
            var run = Assert.Single(runs.EnumerateArray(), r => r.GetProperty("id").GetString() == runId);
            Assert.Equal("completed", run.GetProperty("status").GetString());
            var image = await api.GetByteArrayAsync(run.GetProperty("outputs")[0].GetProperty("url").GetString());
            Assert.Equal("data:image/png;base64," + Convert.ToBase64String(image), await page.GetAttributeAsync(".fd-gallery img.fd-output", "src"));
            await page.WaitForSelectorAsync($".fd-history-run[data-run='{runId}'][data-status=completed] img.fd-history-thumb");
            // The output browser lists the server's outputs too, with the thumbnail of the image it serves.
            await page.ClickAsync("#outputs");
            await page.WaitForSelectorAsync($".fd-outputs-item[data-run='{runId}'] img.fd-outputs-thumb");
            await page.ClickAsync("#outputs-close");

            // A wrong key is named with the server and the status.
            using (var wrong = new RemoteServer(new Uri(url + "/"), "not-the-key"))
            {
                var refused = await Assert.ThrowsAsync<FlowDiffusionApiException>(() => wrong.NodeTypesAsync());
                Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
                Assert.StartsWith($"{url} answered 401 Missing or wrong API key", wrong.Describe(refused));
            }

            // The server dies mid-run: the page says so and keeps the graph; a Run meanwhile says the server is not answering.
            var nodes = await page.Locator(".fd-node").CountAsync();
            // Long enough that the kill lands mid-run even on a quiet machine (400 steps at 64² could finish first):
            // the workflow's most steps at 256².
            await SetInputAsync(page, "steps", "1000");
            await SetInputAsync(page, "width", "256");
            await SetInputAsync(page, "height", "256");
            await page.ClickAsync("#run");
            await page.WaitForFunctionAsync("() => /step \\d+ \\/ 1000/.test(document.querySelector('.fd-run-status')?.textContent || '')", null,
                new PageWaitForFunctionOptions { Timeout = 240_000 });
            var interrupted = (await page.GetAttributeAsync(".fd-run-status", "data-run"))!;
            serve.KillHard();
            await NoticeAsync(page, "Lost the events of run " + interrupted, url);
            await page.ClickAsync("#run");
            await NoticeAsync(page, "Could not queue the run: ", $"{url} is not answering");
            // The event stream is retried every few seconds (at most 5), but a retry does not replace the Run's answer.
            await Task.Delay(TimeSpan.FromSeconds(6));
            Assert.Contains("Could not queue the run: ", await page.TextContentAsync("#notice"));
            Assert.Equal(nodes, await page.Locator(".fd-node").CountAsync());
            Assert.Equal("running", await page.GetAttributeAsync(".fd-run-status", "data-outcome"));

            // Back on the same port and data: the server re-queues the run, the editor reconnects and shows it to its end.
            serve.Dispose();
            serve = await StartServeAsync(url, scratch.Path);
            await page.WaitForSelectorAsync($".fd-run-status[data-run='{interrupted}'][data-outcome=done]", new PageWaitForSelectorOptions { Timeout = 240_000 });
            using var restarted = Api(url);
            var again = JsonDocument.Parse(await restarted.GetStringAsync($"/api/runs/{interrupted}")).RootElement;
            Assert.Equal(("completed", 2), (again.GetProperty("status").GetString(), again.GetProperty("attempts").GetInt32()));
            Assert.Equal(1, await page.Locator(".fd-gallery img.fd-output").CountAsync());
        }
        finally
        {
            output.WriteLine(serve.Log.Length > 4000 ? serve.Log[^4000..] : serve.Log);
            await editor.DisposeAsync();
            serve.Dispose();
        }
    }

    // The status bar says both parts at once (a later message may replace it, so both are read in one look).
    private static Task NoticeAsync(IPage page, string first, string second) =>
        page.WaitForFunctionAsync("([a, b]) => { const t = document.querySelector('#notice').textContent; return t.includes(a) && t.includes(b); }", new[] { first, second });

    private static HttpClient Api(string url)
    {
        var api = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
        api.DefaultRequestHeaders.Add("X-Api-Key", Key);
        return api;
    }

    // `flowdiffusion serve` with an API key on the checkout's plugins and models, its data and outputs in the scratch folder.
    private static async Task<ChildProcess> StartServeAsync(string url, string scratch)
    {
        var serve = ChildProcess.StartDotnet(Cli.Assembly!,
        [
            "serve", "--urls", url, "--api-key", Key,
            "--config", $"FlowDiffusion:DataFolder={Path.Combine(scratch, "server-data")}",
            "--config", $"FlowDiffusion:OutputFolder={Path.Combine(scratch, "server-outputs")}",
            "--config", "FlowDiffusion:WatchPlugins=false",
        ], scratch, new Dictionary<string, string> { ["FLOWDIFFUSION_HOME"] = RepositoryRoot.Path });
        try
        {
            await serve.WaitForAsync("API listening on", TimeSpan.FromSeconds(120));
        }
        catch
        {
            serve.Dispose();
            throw;
        }
        return serve;
    }
}
