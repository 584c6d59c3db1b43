using System.Net;
using Microsoft.Playwright;
using static FlowDiffusion.Editor.Tests.Browser.PageSteps;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>The history panel: a finished run with its thumbnail, the full image, re-opening its graph, deleting it.</summary>
[Collection(EditorBrowserCollection.Name)]
public sealed class HistoryPanelTests(EditorServer server)
{
    [SkippableFact]
    public async Task A_finished_run_shows_in_history_reopens_with_its_inputs_and_deletes_with_its_files()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        await page.SelectOptionAsync("[data-input=model] select", "models/analytic-sd");
        await SetInputAsync(page, "prompt", "a blue ball in history");
        await SetInputAsync(page, "cfg", "1");
        await SetInputAsync(page, "steps", "2");
        await SetInputAsync(page, "width", "64");
        await SetInputAsync(page, "height", "64");
        await page.ClickAsync("#run");
        await page.WaitForSelectorAsync(".fd-run-status[data-outcome=done]", new PageWaitForSelectorOptions { Timeout = 120_000 });
        var runId = await page.GetAttributeAsync(".fd-run-status", "data-run");
        var entry = $".fd-history-run[data-run='{runId}']";

        await page.WaitForSelectorAsync($"{entry}[data-status=completed] img.fd-history-thumb");
        Assert.Contains("txt2img", await page.InnerTextAsync($"{entry} .fd-history-name"));
        await page.ClickAsync($"{entry} img.fd-history-thumb");
        await page.WaitForSelectorAsync("#history-view img");
        var mean = await MeanColourAsync(page, "#history-view img");
        Assert.True(mean[2] > 0.8 && mean[0] < 0.2, $"the full image's mean colour {string.Join(", ", mean)} is not blue");
        await page.ClickAsync("#history-view");
        await page.WaitForSelectorAsync("#history-view", new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached });

        // Edits since: Open asks, then brings back the graph with the inputs the run had (the typed text is replaced too).
        await SetInputAsync(page, "prompt", "something else");
        var asked = new List<string>();
        page.Dialog += async (_, dialog) =>
        {
            asked.Add(dialog.Message);
            await dialog.AcceptAsync();
        };
        await page.ClickAsync($"{entry} button[data-action=open]");
        await page.WaitForFunctionAsync("() => document.querySelector('[data-input=prompt] textarea, [data-input=prompt] input').value === 'a blue ball in history'");
        Assert.Contains("unsaved edits", Assert.Single(asked));
        Assert.Contains($"run {runId}", await page.InnerTextAsync("#notice"));

        await page.ClickAsync($"{entry} button[data-action=delete]");
        await page.WaitForSelectorAsync(entry, new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached });
        Assert.Contains("Delete run", asked[1]);
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"{server.Url}/api/runs/{runId}")).StatusCode);
    }

    [SkippableFact]
    public async Task A_run_lists_its_inputs_and_re_run_runs_its_graph_again_with_a_new_seed()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        await page.SelectOptionAsync("[data-input=model] select", "models/analytic-sd");
        await SetInputAsync(page, "prompt", "a red ball re-run");
        await SetInputAsync(page, "cfg", "1");
        await SetInputAsync(page, "steps", "2");
        await SetInputAsync(page, "width", "64");
        await SetInputAsync(page, "height", "64");
        await SetInputAsync(page, "seed", "32");
        await page.ClickAsync("#run");
        await page.WaitForSelectorAsync(".fd-run-status[data-outcome=done]", new PageWaitForSelectorOptions { Timeout = 120_000 });
        var first = (await page.GetAttributeAsync(".fd-run-status", "data-run"))!;
        var entry = $".fd-history-run[data-run='{first}']";
        await page.WaitForSelectorAsync($"{entry}[data-status=completed] .fd-history-inputs");
        var inputs = await page.InnerTextAsync($"{entry} .fd-history-inputs");
        Assert.Contains("seed 32", inputs);
        Assert.Contains("prompt \"a red ball re-run\"", inputs);

        // The edits above are unsaved: Re-run asks before replacing them, as Open does.
        page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
        await page.ClickAsync($"{entry} button[data-action=rerun]");
        await page.WaitForFunctionAsync("r => { const s = document.querySelector('.fd-run-status'); return s && s.dataset.run !== r && s.dataset.outcome === 'done'; }",
            first, new PageWaitForFunctionOptions { Timeout = 120_000 });
        var second = (await page.GetAttributeAsync(".fd-run-status", "data-run"))!;
        Assert.Equal("completed", (await GetJsonAsync($"{server.Url}/api/runs/{second}")).GetProperty("status").GetString());
        var again = $".fd-history-run[data-run='{second}'] .fd-history-inputs";
        await page.WaitForSelectorAsync(again);
        var rerun = await page.InnerTextAsync(again);
        // The same graph and inputs but the seed, which the seed widget now shows.
        var seed = page.Locator("[data-input=seed] input[type=number]");
        var shown = await seed.InputValueAsync();
        Assert.NotEqual("32", shown);
        Assert.Equal(inputs.Replace("seed 32", $"seed {shown}", StringComparison.Ordinal), rerun);
    }
}
