using System.Net;
using Microsoft.Playwright;
using static FlowDiffusion.Editor.Tests.Browser.PageSteps;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>
/// The output browser: the outputs of two workflows' runs, newest first, filtered by workflow and day, one opened at full
/// size with its download link, its run's graph opened, and one deleted (after the confirm dialog) from the store.
/// </summary>
[Collection(EditorBrowserCollection.Name)]
public sealed class OutputBrowserTests(EditorServer server)
{
    [SkippableFact]
    public async Task Outputs_of_two_workflows_are_listed_filtered_opened_revealed_and_deleted()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        var asked = new List<string>();
        page.Dialog += async (_, dialog) =>
        {
            asked.Add(dialog.Message);
            await dialog.AcceptAsync();
        };
        var txt2img = await RunAsync(page, "txt2img", ("model", "models/analytic-sd"), ("prompt", "a blue ball in the outputs"), ("cfg", "1"), ("width", "64"), ("height", "64"));
        // A second workflow: that graph saved under a name of its own (Save as), drawing red.
        await SetInputAsync(page, "prompt", "a red ball in the outputs");
        await page.FillAsync("#save-name", Sketch);
        await page.DispatchEventAsync("#save-name", "change");
        await page.ClickAsync("#save");
        await page.WaitForFunctionAsync("() => !document.title.startsWith('●')");
        var red = await RunAsync(page, null);

        await page.ClickAsync("#outputs");
        var first = $".fd-outputs-item[data-run='{txt2img}']";
        var second = $".fd-outputs-item[data-run='{red}']";
        await page.WaitForSelectorAsync($"{first} img.fd-outputs-thumb");
        await page.WaitForSelectorAsync($"{second} img.fd-outputs-thumb");
        // Newest first: the second workflow's output comes before the txt2img one.
        var order = await page.EvalOnSelectorAllAsync<string[]>(".fd-outputs-item", "items => items.map(i => i.dataset.run)");
        Assert.True(Array.IndexOf(order, red) < Array.IndexOf(order, txt2img), string.Join(",", order));
        Assert.Equal("txt2img", await page.InnerTextAsync($"{first} .fd-outputs-name"));

        // By workflow: each shows its own output only.
        await page.SelectOptionAsync("#outputs-workflow", "txt2img");
        await page.WaitForSelectorAsync(second, new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached });
        Assert.All(await page.EvalOnSelectorAllAsync<string[]>(".fd-outputs-item", "items => items.map(i => i.dataset.workflow)"), w => Assert.Equal("txt2img", w));
        Assert.Equal(1, await page.Locator(first).CountAsync());
        await page.SelectOptionAsync("#outputs-workflow", Sketch);
        await page.WaitForSelectorAsync(second);
        Assert.Equal(0, await page.Locator(first).CountAsync());
        await page.SelectOptionAsync("#outputs-workflow", "");
        await page.WaitForSelectorAsync(first);

        // By day: from tomorrow, nothing; up to today, both (the editor and the browser share this machine's clock).
        var today = DateTime.Now.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var tomorrow = DateTime.Now.AddDays(1).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        await SetDateAsync(page, "#outputs-from", tomorrow);
        await page.WaitForSelectorAsync(first, new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached });
        Assert.Equal("0", await page.InnerTextAsync("#outputs-total"));
        await SetDateAsync(page, "#outputs-from", today);
        await SetDateAsync(page, "#outputs-to", today);
        await page.WaitForSelectorAsync(first);
        await page.WaitForSelectorAsync(second);

        // Full size: the blue picture, with a download link named as the file.
        await page.ClickAsync($"{first} img.fd-outputs-thumb");
        await page.WaitForSelectorAsync("#outputs-view img");
        var mean = await MeanColourAsync(page, "#outputs-view img");
        Assert.True(mean[2] > 0.8 && mean[0] < 0.2, $"the full image's mean colour {string.Join(", ", mean)} is not blue");
        var file = (await page.GetAttributeAsync(first, "data-file"))!;
        Assert.Equal(file, await page.GetAttributeAsync("#outputs-download", "download"));
        Assert.StartsWith("data:image/png;base64,", await page.GetAttributeAsync("#outputs-download", "href"));
        await page.ClickAsync("#outputs-view");
        await page.WaitForSelectorAsync("#outputs-view", new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached });

        // Delete asks first, then the run and its file are gone from the store.
        Assert.Equal(HttpStatusCode.OK, await StatusAsync($"/api/outputs/{red}/{await page.GetAttributeAsync(second, "data-file")}"));
        var secondFile = (await page.GetAttributeAsync(second, "data-file"))!;
        asked.Clear();
        await page.ClickAsync($"{second} button[data-action=delete]");
        await page.WaitForSelectorAsync(second, new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached });
        Assert.Contains($"Delete {secondFile}?", Assert.Single(asked));
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync($"/api/runs/{red}"));
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync($"/api/outputs/{red}/{secondFile}"));
        Assert.False(Directory.Exists(Path.Combine(server.OutputFolder, red)) && Directory.EnumerateFiles(Path.Combine(server.OutputFolder, red), "*", SearchOption.AllDirectories).Any());
        await page.WaitForSelectorAsync(first);

        // Run opens the graph that wrote the output, with its inputs, and closes the browser.
        await page.ClickAsync($"{first} button[data-action=reveal]");
        await page.WaitForSelectorAsync("#outputs-browser", new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached });
        await page.WaitForFunctionAsync("() => document.querySelector('[data-input=prompt] textarea, [data-input=prompt] input').value === 'a blue ball in the outputs'");
        Assert.Contains($"run {txt2img}", await page.InnerTextAsync("#notice"));

        // Beside the test output; docs/screenshots only by the explicit command (README).
        await page.ClickAsync("#outputs");
        await page.WaitForSelectorAsync($"{first} img.fd-outputs-thumb");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(EditorServer.Screenshots, "output-browser.png") });
    }

    private const string Sketch = "outputs-red";

    // Opens a saved workflow (null: the open one), sets its inputs (two steps always), runs it and waits for it to
    // finish; returns its run id.
    private static async Task<string> RunAsync(IPage page, string? workflow, params (string Input, string Value)[] inputs)
    {
        if (workflow is not null) await OpenSavedAsync(page, workflow);
        foreach (var (input, value) in inputs)
        {
            if (input == "model") await page.SelectOptionAsync("[data-input=model] select", value);
            else await SetInputAsync(page, input, value);
        }
        await SetInputAsync(page, "steps", "2");
        var before = await page.EvaluateAsync<string?>("() => document.querySelector('.fd-run-status')?.dataset.run ?? null");
        await page.ClickAsync("#run");
        await page.WaitForFunctionAsync("r => { const s = document.querySelector('.fd-run-status'); return s && s.dataset.run !== r && !['queued', 'running'].includes(s.dataset.outcome); }",
            before ?? "", new PageWaitForFunctionOptions { Timeout = 120_000 });
        Assert.True(await page.GetAttributeAsync(".fd-run-status", "data-outcome") == "done",
            $"{workflow}: {await page.InnerTextAsync(".fd-run-status")} / {await page.InnerTextAsync("#notice")}");
        return (await page.GetAttributeAsync(".fd-run-status", "data-run"))!;
    }

    private static async Task SetDateAsync(IPage page, string selector, string day)
    {
        await page.FillAsync(selector, day);
        await page.DispatchEventAsync(selector, "change");
    }

    private async Task<HttpStatusCode> StatusAsync(string path)
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync(server.Url + path);
        return response.StatusCode;
    }
}
