using System.Globalization;
using Microsoft.Playwright;
using static FlowDiffusion.Editor.Tests.Browser.PageSteps;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>A name pattern typed into image.save's prefix names the file the run writes, in the history panel and the run's outputs.</summary>
[Collection(EditorBrowserCollection.Name)]
public sealed class OutputNameBrowserTests(EditorServer server)
{
    [SkippableFact]
    public async Task Prefix_pattern_set_on_image_save_names_the_file_in_history_and_outputs()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        await page.SelectOptionAsync("[data-input=model] select", "models/analytic-sd");
        await SetInputAsync(page, "cfg", "1");
        await SetInputAsync(page, "steps", "2");
        await SetInputAsync(page, "width", "64");
        await SetInputAsync(page, "height", "64");
        await SetInputAsync(page, "seed", "4242");
        var prefix = page.Locator(".fd-node[data-id=save] input[data-param=prefix]");
        await prefix.FillAsync("%workflow%_%date:yyyyMMdd%_s%seed%");
        await prefix.DispatchEventAsync("change");
        await page.WaitForTimeoutAsync(150);

        var before = DateTime.Now;
        await page.ClickAsync("#run");
        await page.WaitForSelectorAsync(".fd-run-status[data-outcome=done]", new PageWaitForSelectorOptions { Timeout = 120_000 });
        var after = DateTime.Now;
        var runId = await page.GetAttributeAsync(".fd-run-status", "data-run");
        var thumb = $".fd-history-run[data-run='{runId}'][data-status=completed] img.fd-history-thumb";
        await page.WaitForSelectorAsync(thumb);

        var expected = new[] { before, after }.Select(t => $"txt2img_{t.ToString("yyyyMMdd", CultureInfo.InvariantCulture)}_s4242_00001.png").Distinct().ToList();
        var shown = Path.GetFileName(await page.GetAttributeAsync(thumb, "title"));
        Assert.Contains(shown, expected);
        var run = await GetJsonAsync($"{server.Url}/api/runs/{runId}");
        var file = run.GetProperty("outputs").EnumerateArray().Single().GetProperty("file").GetString();
        Assert.Equal(shown, Path.GetFileName(file));
    }
}
