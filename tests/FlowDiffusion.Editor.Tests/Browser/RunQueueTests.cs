using System.Text.Json;
using Microsoft.Playwright;
using static FlowDiffusion.Editor.Tests.Browser.PageSteps;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>Editor runs go through the HTTP API's queue: history, node states, step progress, live previews, cancel, seeds.</summary>
[Collection(EditorBrowserCollection.Name)]
public sealed class RunQueueTests(EditorServer server)
{
    [SkippableFact]
    public async Task Ctrl_enter_queues_the_run_where_the_api_lists_it_and_the_sampler_shows_steps_and_a_preview()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        // Three steps: no other test runs this, so the sampler is not served from the engine's cache.
        var page = await SmallTxt2ImgAsync(steps: 3);

        await page.Keyboard.PressAsync("Control+Enter");
        await page.WaitForSelectorAsync(".fd-run-status[data-outcome=done]", new PageWaitForSelectorOptions { Timeout = 120_000 });
        var id = await page.GetAttributeAsync(".fd-run-status", "data-run");

        var run = await GetJsonAsync($"{server.Url}/api/runs/{id}");
        Assert.Equal("completed", run.GetProperty("status").GetString());
        Assert.Equal(12, run.GetProperty("nodes").GetArrayLength());
        var history = await GetJsonAsync($"{server.Url}/api/runs");
        Assert.Contains(history.GetProperty("runs").EnumerateArray(), r => r.GetProperty("id").GetString() == id);
        Assert.Equal("3/3", await page.InnerTextAsync(".fd-node[data-id=sample] .fd-progress span"));
        Assert.StartsWith("data:image/bmp;base64,", await page.GetAttributeAsync(".fd-node[data-id=sample] img.fd-preview", "src"));
        foreach (var node in run.GetProperty("nodes").EnumerateArray())
        {
            var expected = node.GetProperty("cached").GetBoolean() ? "cached" : "done";
            Assert.Equal(expected, await page.InnerTextAsync($".fd-node[data-id={node.GetProperty("node").GetString()}] .fd-badge"));
        }
    }

    [SkippableFact]
    public async Task Previews_arrive_while_the_sampler_runs_and_cancel_stops_the_run()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        // tiny-sd's real UNet at 512×512: 1000 steps take tens of seconds, so the run is still going when cancelled.
        var page = await SmallTxt2ImgAsync(steps: 1000, size: 512, model: "models/tiny-sd");

        await page.ClickAsync("#run");
        // A preview on the sampler while the run is still running: the preview events reach the canvas live.
        await page.WaitForFunctionAsync("""
            () => document.querySelector('.fd-run-status')?.dataset.outcome === 'running'
              && document.querySelector('.fd-node[data-id=sample].fd-state-running img.fd-preview') !== null
            """, null, new PageWaitForFunctionOptions { Timeout = 60_000, PollingInterval = 20 });
        var step = int.Parse((await page.InnerTextAsync(".fd-node[data-id=sample] .fd-progress span")).Split('/')[0]);
        await page.ClickAsync("#cancel");
        await page.WaitForSelectorAsync(".fd-run-status[data-outcome=cancelled]", new PageWaitForSelectorOptions { Timeout = 60_000 });
        var id = await page.GetAttributeAsync(".fd-run-status", "data-run");

        Assert.InRange(step, 1, 999);
        Assert.Equal("cancelled", (await GetJsonAsync($"{server.Url}/api/runs/{id}")).GetProperty("status").GetString());
        Assert.Equal(0, await page.Locator("img.fd-output").CountAsync());
        Assert.False(await page.IsDisabledAsync("#run"));
    }

    [SkippableFact]
    public async Task A_randomized_seed_changes_every_run_and_the_widget_shows_the_seed_the_image_was_made_with()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await SmallTxt2ImgAsync(steps: 2);
        await page.SelectOptionAsync("[data-input=seed] select.fd-seed-mode", "randomize");

        var seeds = new List<long>();
        string? last = null;
        for (var i = 0; i < 2; i++)
        {
            last = await RunToTheEndAsync(page, last);
            var shown = long.Parse(await page.InputValueAsync("[data-input=seed] input[type=number]"));
            var inputs = JsonDocument.Parse((await PngTextOfAsync(page, "img.fd-output", "flowdiffusion.inputs"))!).RootElement;
            Assert.Equal(shown, inputs.GetProperty("seed").GetInt64());
            seeds.Add(shown);
        }

        Assert.NotEqual(seeds[0], seeds[1]);
        Assert.DoesNotContain(32L, seeds);
        Assert.Equal("randomize", await page.InputValueAsync("[data-input=seed] select.fd-seed-mode"));
    }

    [SkippableFact]
    public async Task An_incremented_seed_runs_with_the_value_shown_then_shows_the_next_one_and_runs_are_no_undo_steps()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await SmallTxt2ImgAsync(steps: 2);
        await SetInputAsync(page, "seed", "100");
        await page.SelectOptionAsync("[data-input=seed] select.fd-seed-mode", "increment");

        var used = new List<long>();
        var shown = new List<long>();
        string? last = null;
        for (var i = 0; i < 2; i++)
        {
            last = await RunToTheEndAsync(page, last);
            var inputs = JsonDocument.Parse((await PngTextOfAsync(page, "img.fd-output", "flowdiffusion.inputs"))!).RootElement;
            used.Add(inputs.GetProperty("seed").GetInt64());
            shown.Add(long.Parse(await page.InputValueAsync("[data-input=seed] input[type=number]")));
        }

        Assert.Equal([100L, 101L], used);
        Assert.Equal([101L, 102L], shown);
        Assert.StartsWith("Increment: each run uses the seed shown", await page.GetAttributeAsync("[data-input=seed] select.fd-seed-mode", "title"));
        // The last edit was choosing increment: one undo takes that back and leaves the seed the runs reached.
        await page.ClickAsync("#undo");
        await page.WaitForFunctionAsync("() => document.querySelector('[data-input=seed] select.fd-seed-mode').value === 'fixed'");
        Assert.Equal("102", await page.InputValueAsync("[data-input=seed] input[type=number]"));
    }

    [SkippableFact]
    public async Task Pressing_run_twice_queues_a_second_run_behind_the_first_and_both_complete_with_incremented_seeds()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        // Twenty steps and seeds of their own: no other test runs these, so neither sampler is served from the cache.
        var page = await SmallTxt2ImgAsync(steps: 20);
        await SetInputAsync(page, "seed", "500");
        await page.SelectOptionAsync("[data-input=seed] select.fd-seed-mode", "increment");
        var before = (await GetJsonAsync($"{server.Url}/api/runs?limit=200")).GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToHashSet();

        await page.ClickAsync("#run");
        // Forced: the button used to be disabled while the first run went, so a second press must not wait for it.
        await page.ClickAsync("#run", new PageClickOptions { Force = true });
        var runs = await NewRunsAsync(before, count: 2);
        var last = runs.MaxBy(r => r.GetProperty("submitted").GetDateTimeOffset()).GetProperty("id").GetString();
        await page.WaitForFunctionAsync("last => { const s = document.querySelector('.fd-run-status'); return s && s.dataset.run === last && s.dataset.outcome === 'done'; }",
            last, new PageWaitForFunctionOptions { Timeout = 120_000 });

        var seeds = new List<long>();
        foreach (var run in runs.OrderBy(r => r.GetProperty("submitted").GetDateTimeOffset()))
        {
            Assert.Equal("completed", run.GetProperty("status").GetString());
            var output = Assert.Single(run.GetProperty("outputs").EnumerateArray()).GetProperty("url").GetString();
            var inputs = JsonDocument.Parse((await PngTextAtAsync(page, server.Url + output, "flowdiffusion.inputs"))!).RootElement;
            seeds.Add(inputs.GetProperty("seed").GetInt64());
        }
        Assert.Equal([500L, 501L], seeds);
        Assert.Equal("502", await page.InputValueAsync("[data-input=seed] input[type=number]"));
        Assert.Equal(0, await page.Locator(".fd-run-queue").CountAsync());
        Assert.Single(await page.Locator("img.fd-output").AllAsync());
    }

    [SkippableFact]
    public async Task A_run_count_of_three_queues_three_runs_with_one_press()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await SmallTxt2ImgAsync(steps: 4);
        await SetInputAsync(page, "seed", "700");
        await page.SelectOptionAsync("[data-input=seed] select.fd-seed-mode", "increment");
        var before = (await GetJsonAsync($"{server.Url}/api/runs?limit=200")).GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToHashSet();

        await page.FillAsync("#run-count", "3");
        await page.Locator("#run-count").DispatchEventAsync("change");
        await page.ClickAsync("#run");
        var runs = await NewRunsAsync(before, count: 3);

        Assert.Equal(3, runs.Count);
        Assert.All(runs, r => Assert.Equal("completed", r.GetProperty("status").GetString()));
        await page.WaitForFunctionAsync("() => document.querySelector('[data-input=seed] input[type=number]').value === '703'");
    }

    [SkippableFact]
    public async Task Ctrl_enter_in_a_field_runs_with_what_is_typed_there()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await SmallTxt2ImgAsync(steps: 2);
        var prompt = page.Locator("[data-input=prompt] textarea");

        // Typed, not committed: no change event has fired when Ctrl+Enter is pressed in the field.
        await prompt.FillAsync("a green field");
        await prompt.PressAsync("Control+Enter");
        await page.WaitForSelectorAsync(".fd-run-status[data-outcome=done]", new PageWaitForSelectorOptions { Timeout = 120_000 });

        var inputs = JsonDocument.Parse((await PngTextOfAsync(page, "img.fd-output", "flowdiffusion.inputs"))!).RootElement;
        Assert.Equal("a green field", inputs.GetProperty("prompt").GetString());
    }

    // The runs GET /api/runs lists that are not in before, once there are count of them and all have ended.
    private async Task<List<JsonElement>> NewRunsAsync(IReadOnlySet<string?> before, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (true)
        {
            var runs = (await GetJsonAsync($"{server.Url}/api/runs?limit=200")).GetProperty("runs").EnumerateArray()
                .Where(r => !before.Contains(r.GetProperty("id").GetString())).ToList();
            if (runs.Count >= count && runs.All(r => r.GetProperty("status").GetString() is not ("queued" or "running"))) return runs;
            Assert.True(DateTime.UtcNow < deadline, $"{runs.Count} new run(s) in GET /api/runs, {count} expected, all ended");
            await Task.Delay(100);
        }
    }

    // Presses Run and waits until a run other than `last` is shown done; returns its id.
    private static async Task<string?> RunToTheEndAsync(IPage page, string? last)
    {
        await page.ClickAsync("#run");
        await page.WaitForFunctionAsync("last => { const s = document.querySelector('.fd-run-status'); return s && s.dataset.run !== last && s.dataset.outcome === 'done'; }",
            last ?? "", new PageWaitForFunctionOptions { Timeout = 120_000 });
        return await page.GetAttributeAsync(".fd-run-status", "data-run");
    }

    // txt2img on analytic-sd (or another shipped model), blue prompt, no guidance, a small image.
    private async Task<IPage> SmallTxt2ImgAsync(int steps, int size = 64, string model = "models/analytic-sd")
    {
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        await page.SelectOptionAsync("[data-input=model] select", model);
        await SetInputAsync(page, "prompt", "a blue ball");
        await SetInputAsync(page, "cfg", "1");
        await SetInputAsync(page, "steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await SetInputAsync(page, "width", size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await SetInputAsync(page, "height", size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return page;
    }
}
