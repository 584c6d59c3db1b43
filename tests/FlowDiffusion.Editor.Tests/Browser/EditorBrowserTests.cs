using Microsoft.Playwright;
using static FlowDiffusion.Editor.Tests.Browser.PageSteps;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>The editor end to end in headless Chromium: running, link refusal, undo/redo, drag traffic, PNG drop.</summary>
[Collection(EditorBrowserCollection.Name)]
public sealed class EditorBrowserTests(EditorServer server)
{
    [SkippableFact]
    public async Task Txt2img_on_analytic_sd_with_a_blue_prompt_shows_a_blue_image()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(EditorServer.Screenshots, "editor-txt2img.png") });

        await page.SelectOptionAsync("[data-input=model] select", "models/analytic-sd");
        await SetInputAsync(page, "prompt", "a blue ball");
        await SetInputAsync(page, "cfg", "1");
        await SetInputAsync(page, "steps", "4");
        await SetInputAsync(page, "width", "64");
        await SetInputAsync(page, "height", "64");
        await page.ClickAsync("#run");
        await page.WaitForSelectorAsync(".fd-run-status[data-outcome=done]", new PageWaitForSelectorOptions { Timeout = 120_000 });
        await page.WaitForSelectorAsync("img.fd-output");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(EditorServer.Screenshots, "finished-run.png") });

        var mean = await MeanColourAsync(page, "img.fd-output");
        Assert.True(mean[2] > 0.8 && mean[0] < 0.2 && mean[1] < 0.2, $"gallery image mean colour {string.Join(", ", mean)} is not blue");
        // Runs share the engine's cache, so another test's identical run may have left the sampler's result there.
        Assert.Contains(await page.InnerTextAsync(".fd-node[data-id=sample] .fd-badge"), new[] { "done", "cached" });
    }

    [SkippableFact]
    public async Task Dropping_a_link_on_a_port_of_another_type_is_refused()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        var links = await page.Locator("path.fd-link").CountAsync();

        var from = await CentreAsync(page, ".fd-node[data-id=model] .fd-port[data-port=vae]");
        var to = await CentreAsync(page, ".fd-node[data-id=sample] .fd-port[data-port=guider]");
        await page.Mouse.MoveAsync(from.X, from.Y);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(to.X, to.Y, new MouseMoveOptions { Steps = 10 });
        Assert.Contains("fd-dim", await page.GetAttributeAsync(".fd-node[data-id=sample] .fd-port[data-port=guider]", "class"));
        Assert.Contains("fd-ok", await page.GetAttributeAsync(".fd-node[data-id=decode] .fd-port[data-port=vae]", "class"));
        await page.Mouse.UpAsync();
        await page.WaitForTimeoutAsync(500);

        Assert.Equal(links, await page.Locator("path.fd-link").CountAsync());
        Assert.Equal("guider", await page.GetAttributeAsync("path.fd-link[data-to=sample][data-in-index='0']", "data-from"));
        Assert.DoesNotContain("fd-dim", await page.GetAttributeAsync(".fd-node[data-id=sample] .fd-port[data-port=guider]", "class"));
    }

    [SkippableFact]
    public async Task Dragging_a_link_between_matching_ports_makes_it()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");

        await DragAsync(page, ".fd-node[data-id=negative] .fd-port[data-port=conditioning]", ".fd-node[data-id=guider] .fd-port[data-port=positive]");

        await page.WaitForSelectorAsync("path.fd-link[data-from=negative][data-to=guider][data-in-index='1']");
        Assert.Equal(2, await page.Locator("path.fd-link[data-from=negative][data-to=guider]").CountAsync());
    }

    [SkippableFact]
    public async Task Undo_and_redo_restore_the_graph()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        var nodes = await page.Locator(".fd-node").CountAsync();
        var links = await page.Locator("path.fd-link").CountAsync();

        await page.ClickAsync(".fd-node[data-id=guider] .fd-node-header");
        await page.Keyboard.PressAsync("Delete");
        await WaitForCountAsync(page, ".fd-node", nodes - 1);
        Assert.Equal(links - 4, await page.Locator("path.fd-link").CountAsync());

        await page.Keyboard.PressAsync("Control+z");
        await WaitForCountAsync(page, ".fd-node", nodes);
        Assert.Equal(links, await page.Locator("path.fd-link").CountAsync());
        Assert.Equal(1, await page.Locator(".fd-node[data-id=guider]").CountAsync());

        await page.Keyboard.PressAsync("Control+Shift+z");
        await WaitForCountAsync(page, ".fd-node", nodes - 1);
        await page.Keyboard.PressAsync("Control+y");
        await page.Keyboard.PressAsync("Control+z");
        await WaitForCountAsync(page, ".fd-node", nodes);
    }

    [SkippableFact]
    public async Task Dragging_a_node_in_a_200_node_graph_sends_nothing_until_release()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        var sent = 0;
        page.WebSocket += (_, socket) => socket.FrameSent += (_, frame) =>
        {
            // SignalR keep-alive pings are a few bytes; any real message (an invocation) is larger.
            if ((frame.Binary?.Length ?? frame.Text?.Length ?? 0) > 8) Interlocked.Increment(ref sent);
        };
        await page.ReloadAsync();
        await page.WaitForSelectorAsync(".fd-canvas[data-ready='1']");
        await OpenSavedAsync(page, "big");
        await WaitForCountAsync(page, ".fd-node", 200);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(EditorServer.Screenshots, "editor-200-nodes.png") });
        await page.WaitForTimeoutAsync(300);

        var header = await CentreAsync(page, ".fd-node[data-id=n1] .fd-node-header");
        var before = Interlocked.CompareExchange(ref sent, 0, 0);
        await page.Mouse.MoveAsync(header.X, header.Y);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(header.X + 120, header.Y + 90, new MouseMoveOptions { Steps = 30 });
        await page.WaitForTimeoutAsync(300);
        var during = Interlocked.CompareExchange(ref sent, 0, 0) - before;
        await page.Mouse.UpAsync();
        await page.WaitForTimeoutAsync(800);
        var after = Interlocked.CompareExchange(ref sent, 0, 0) - before;

        Assert.Equal(0, during);
        // The release sends the move; the render it causes adds a render acknowledgement and script-call replies.
        Assert.InRange(after, 1, 10);
        Assert.Equal("440px", await page.EvaluateAsync<string>("document.querySelector('.fd-node[data-id=n1]').style.left"));
    }

    [SkippableFact]
    public async Task Dropping_a_flowdiffusion_png_opens_the_workflow_it_carries()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var png = await PngWithWorkflowAsync();
        var page = await server.OpenAsync();
        await page.ClickAsync("#new");
        await WaitForCountAsync(page, ".fd-node", 0);

        var transfer = await page.EvaluateHandleAsync("""
            b64 => {
              const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
              const data = new DataTransfer();
              data.items.add(new File([bytes], 'made.png', { type: 'image/png' }));
              return data;
            }
            """, Convert.ToBase64String(png));
        await page.DispatchEventAsync(".fd-canvas", "drop", new Dictionary<string, object> { ["dataTransfer"] = transfer });

        await WaitForCountAsync(page, ".fd-node", 12);
        Assert.Equal("a green field", await page.InputValueAsync("[data-input=prompt] textarea"));
    }

    [SkippableFact]
    public async Task Unsaved_edits_survive_a_reload_through_the_browsers_autosave()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        await page.ClickAsync(".fd-node[data-id=save] .fd-node-header");
        await page.Keyboard.PressAsync("Delete");
        await WaitForCountAsync(page, ".fd-node", 11);
        await page.WaitForTimeoutAsync(500);

        await page.ReloadAsync();
        await page.WaitForSelectorAsync(".fd-canvas[data-ready='1']");
        await page.ClickAsync("#restore");

        await WaitForCountAsync(page, ".fd-node", 11);
        Assert.Equal(0, await page.Locator(".fd-node[data-id=save]").CountAsync());
    }

    private static async Task<byte[]> PngWithWorkflowAsync()
    {
        using var output = new TempFolder();
        var yaml = File.ReadAllText(Path.Combine(RepositoryRoot.Workflows, "txt2img.yaml"));
        var inputs = new Dictionary<string, object?> { ["model"] = "models/analytic-sd", ["prompt"] = "a green field", ["steps"] = "2", ["width"] = "64", ["height"] = "64" };
        var check = SdCatalog.Engine.Parse(yaml, "txt2img.yaml", inputs);
        Assert.True(check.IsValid, string.Join("\n", check.Diagnostics));
        var run = SdCatalog.Engine.Start(check.Plan!, new FlowDiffusion.Engine.Execution.RunOptions { OutputDirectory = output.Path, WorkingDirectory = RepositoryRoot.Path });
        await foreach (var _ in run.ReadEventsAsync()) { }
        await run.Completion;
        return File.ReadAllBytes(Directory.EnumerateFiles(output.Path, "*.png", SearchOption.AllDirectories).First());
    }
}
