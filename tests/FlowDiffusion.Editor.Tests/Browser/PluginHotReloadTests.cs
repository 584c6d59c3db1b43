using Microsoft.Playwright;
using static FlowDiffusion.Editor.Tests.Browser.PageSteps;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>
/// Hot reload seen in the browser: an editor watching its plugin folders draws the open workflow's nodes from a pack
/// dropped in while the page is open, without a page reload. In the browser collection so no other browser test
/// shares the machine with its second editor process.
/// </summary>
[Collection(EditorBrowserCollection.Name)]
public sealed class PluginHotReloadTests
{
    // A reload waits 0.3 s of quiet, then loads and the circuit re-renders; a loaded two-core machine may take far longer.
    private static readonly PageWaitForSelectorOptions Patience = new() { Timeout = 90_000 };

    [SkippableFact]
    public async Task Pack_dropped_into_a_watched_folder_draws_the_open_workflows_nodes_without_a_page_reload()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        using var plugins = new TempFolder();
        using var staging = new TempFolder();
        var server = EditorServer.WatchingPlugins("editor-hot-reload", RepositoryRoot.Plugins, plugins.Path);
        try
        {
            await server.InitializeAsync();
            await File.WriteAllTextAsync(Path.Combine(server.WorkflowsFolder, "arithmetic.yaml"), TestNodesPack.Arithmetic);
            var page = await server.OpenAsync();
            await OpenSavedAsync(page, "arithmetic");
            await page.WaitForSelectorAsync(".fd-node[data-id=sum] .fd-node-unknown");
            Assert.Equal(0, await page.Locator(".fd-node .fd-port").CountAsync());
            Assert.Equal(0, await page.Locator(".fd-link").CountAsync());
            Assert.Equal(1, await page.Locator(".fd-problem", new() { HasText = "unknown node type 'test.add'" }).CountAsync());
            Assert.Equal(0, await page.Locator(".fd-library-panel .fd-node-type[data-type='test.add']").CountAsync());
            await page.EvaluateAsync("() => window.fdSamePage = true");

            TestNodesPack.DropInto(plugins.Path, staging.Path);

            await page.WaitForSelectorAsync(".fd-node[data-id=sum] .fd-port[data-dir=out][data-port=sum]", Patience);
            await WaitForCountAsync(page, ".fd-problem", 0);
            await WaitForCountAsync(page, ".fd-link[data-to=sum]", 2);
            Assert.Equal(0, await page.Locator(".fd-node-unknown").CountAsync());
            Assert.Equal(0, await page.Locator(".fd-has-error").CountAsync());
            Assert.Equal(["a", "b"], await page.EvalOnSelectorAllAsync<string[]>(".fd-node[data-id=sum] .fd-port[data-dir=in]", "ps => ps.map(p => p.dataset.port)"));
            Assert.Equal("2", await page.InputValueAsync(".fd-node[data-id=a] input[data-param=value]"));
            Assert.Equal("3", await page.InputValueAsync(".fd-node[data-id=b] input[data-param=value]"));
            Assert.Equal("The workflow is valid.", (await page.TextContentAsync(".fd-problems .fd-empty"))?.Trim());
            await page.Locator(".fd-library-panel .fd-node-type[data-type='test.add']").WaitForAsync();
            await page.Locator(".fd-library-panel .fd-node-type[data-type='test.number']").WaitForAsync();
            Assert.Contains("Plugins reloaded", await page.TextContentAsync("#notice"));
            // Not an edit: nothing to undo, nothing unsaved, and the same page (no reload) throughout.
            Assert.True(await page.IsDisabledAsync("#undo"));
            Assert.DoesNotContain("●", await page.TitleAsync());
            Assert.True(await page.EvaluateAsync<bool>("() => window.fdSamePage === true"));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
