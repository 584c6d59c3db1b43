using Microsoft.Playwright;
using static FlowDiffusion.Editor.Tests.Browser.PageSteps;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>Number widgets change by dragging across them, inside their range, with one server message per drag.</summary>
[Collection(EditorBrowserCollection.Name)]
public sealed class NumberScrubTests(EditorServer server)
{
    [SkippableFact]
    public async Task Dragging_across_a_number_steps_it_and_commits_once_on_release_within_its_range()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        var sent = 0;
        page.WebSocket += (_, socket) => socket.FrameSent += (_, frame) =>
        {
            if ((frame.Binary?.Length ?? frame.Text?.Length ?? 0) > 8) Interlocked.Increment(ref sent);
        };
        await page.ReloadAsync();
        await page.WaitForSelectorAsync(".fd-canvas[data-ready='1']");
        await OpenSavedAsync(page, "txt2img");
        const string steps = "[data-input=steps] input[type=number]";
        Assert.Equal("30", await page.InputValueAsync(steps));

        // steps: min 1, max 1000, step 1; five pixels per step.
        var box = (await page.Locator(steps).BoundingBoxAsync())!;
        var before = Volatile.Read(ref sent);
        await page.Mouse.MoveAsync(box.X + 20, box.Y + box.Height / 2);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(box.X + 70, box.Y + box.Height / 2, new MouseMoveOptions { Steps = 10 });
        await page.WaitForTimeoutAsync(200);
        var during = Volatile.Read(ref sent) - before;
        Assert.Equal("40", await page.InputValueAsync(steps));
        await page.Mouse.UpAsync();
        await page.WaitForFunctionAsync("() => document.title.startsWith('●')");

        Assert.Equal(0, during);
        Assert.InRange(Volatile.Read(ref sent) - before, 1, 6);

        // Far to the left stops at the minimum; the value in the document follows (undo restores 40).
        await page.Mouse.MoveAsync(box.X + 200, box.Y + box.Height / 2);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(box.X - 600, box.Y + box.Height / 2, new MouseMoveOptions { Steps = 10 });
        await page.Mouse.UpAsync();
        await page.WaitForTimeoutAsync(300);
        Assert.Equal("1", await page.InputValueAsync(steps));
        await page.ClickAsync("#undo");
        await page.WaitForFunctionAsync("s => document.querySelector(s).value === '40'", steps);
    }

    [SkippableFact]
    public async Task A_click_without_a_drag_leaves_the_number_for_typing()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        const string cfg = "[data-input=cfg] input[type=number]";

        await page.ClickAsync(cfg);

        Assert.True(await page.EvaluateAsync<bool>("s => document.activeElement === document.querySelector(s)", cfg));
        Assert.Equal("7.5", await page.InputValueAsync(cfg));
    }
}
