using static FlowDiffusion.Editor.Tests.Browser.PageSteps;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>Live validation in the browser: the offending node and port are marked, and the problem list selects the node.</summary>
[Collection(EditorBrowserCollection.Name)]
public sealed class ValidationMarksTests(EditorServer server)
{
    [SkippableFact]
    public async Task Deleting_a_node_marks_the_ports_it_fed_and_clicking_the_problem_selects_their_node()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        Assert.Equal(0, await page.Locator(".fd-port-error").CountAsync());

        await page.ClickAsync(".fd-node[data-id=schedule] .fd-node-header");
        await page.Keyboard.PressAsync("Delete");
        await page.WaitForSelectorAsync(".fd-port-error");

        Assert.Equal(["sample:schedule"], await page.EvalOnSelectorAllAsync<string[]>(".fd-port-error", "ps => ps.map(p => p.dataset.node + ':' + p.dataset.port)"));
        Assert.Contains("fd-has-error", await page.GetAttributeAsync(".fd-node[data-id=sample]", "class"));
        Assert.Contains("fd-label-error", await page.GetAttributeAsync(".fd-node[data-id=sample] .fd-row:nth-child(3) .fd-in-label", "class"));
        Assert.DoesNotContain("fd-selected", await page.GetAttributeAsync(".fd-node[data-id=sample]", "class"));

        await page.ClickAsync(".fd-problem[data-place='sample.schedule']");
        await page.WaitForSelectorAsync(".fd-node[data-id=sample].fd-selected");
        // Zoomed in at the sampler (twice the fitted size) so the marked port reads in the screenshot.
        var sample = await CentreAsync(page, ".fd-node[data-id=sample] .fd-port[data-port=schedule]");
        await page.Mouse.MoveAsync(sample.X, sample.Y);
        await page.Mouse.WheelAsync(0, -462);
        await page.WaitForTimeoutAsync(500);
        await page.ScreenshotAsync(new() { Path = Path.Combine(EditorServer.Screenshots, "editor-problems.png") });

        await page.Keyboard.PressAsync("Control+z");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('.fd-port-error').length === 0");
        Assert.Equal(0, await page.Locator(".fd-problem").CountAsync());
    }
}
