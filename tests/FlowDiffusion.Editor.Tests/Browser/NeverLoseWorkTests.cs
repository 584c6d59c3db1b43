using Microsoft.Playwright;
using static FlowDiffusion.Editor.Tests.Browser.PageSteps;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>No action loses work: wrong files are refused, unsaved edits are only dropped after asking, templates stay as shipped.</summary>
[Collection(EditorBrowserCollection.Name)]
public sealed class NeverLoseWorkTests(EditorServer server)
{
    // The start of a ComfyUI UI-format graph: JSON (so YAML), but no FlowDiffusion workflow, and a KSampler feeding no output node.
    private const string ComfyGraph = """{"last_node_id": 9, "last_link_id": 9, "nodes": [{"id": 3, "type": "KSampler", "pos": [863, 186], "widgets_values": [156680208700286, "randomize", 20, 8, "euler", "normal", 1]}], "links": [], "version": 0.4}""";

    [SkippableFact]
    public async Task Dropping_an_unconvertible_comfyui_graph_or_a_plain_png_is_refused_and_keeps_the_graph_and_its_undo()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        await DeleteNodeAsync(page, "save");

        await DropAsync(page, "workflow_api.json", System.Text.Encoding.UTF8.GetBytes(ComfyGraph));
        await page.WaitForFunctionAsync("() => document.querySelector('#notice').textContent.includes('Not opened')");
        // A lone KSampler and nothing it feeds: the notice says what the conversion found missing.
        Assert.Contains("workflow_api.json is a ComfyUI workflow FlowDiffusion cannot convert", await page.InnerTextAsync("#notice"));
        Assert.Contains("Prompt has no outputs", await page.InnerTextAsync("#notice"));
        Assert.Contains("unchanged", await page.InnerTextAsync("#notice"));
        Assert.Equal(11, await page.Locator(".fd-node").CountAsync());

        await DropAsync(page, "photo.png", PlainPng());
        await page.WaitForFunctionAsync("() => document.querySelector('#notice').textContent.includes('photo.png carries no FlowDiffusion or ComfyUI workflow')");
        Assert.Equal(11, await page.Locator(".fd-node").CountAsync());

        Assert.True(await page.IsEnabledAsync("#undo"));
        await page.ClickAsync("#undo");
        await WaitForCountAsync(page, ".fd-node", 12);
    }

    [SkippableFact]
    public async Task New_and_open_ask_before_discarding_unsaved_edits_and_keep_them_when_declined()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        await DeleteNodeAsync(page, "save");

        var asked = new List<string>();
        var accept = false;
        page.Dialog += async (_, dialog) =>
        {
            asked.Add(dialog.Message);
            if (accept) await dialog.AcceptAsync(); else await dialog.DismissAsync();
        };
        await page.ClickAsync("#new");
        await page.WaitForTimeoutAsync(500);
        Assert.Equal(11, await page.Locator(".fd-node").CountAsync());
        await page.SelectOptionAsync("#open", "img2img");
        await page.WaitForTimeoutAsync(500);
        Assert.Equal(11, await page.Locator(".fd-node").CountAsync());
        Assert.Equal(2, asked.Count);
        Assert.All(asked, m => Assert.Contains("unsaved edits", m));
        Assert.Equal("", await page.InputValueAsync("#open"));

        accept = true;
        await page.ClickAsync("#new");
        await WaitForCountAsync(page, ".fd-node", 0);
        Assert.Equal(3, asked.Count);
        // A clean document is replaced without asking.
        await OpenSavedAsync(page, "img2img");
        Assert.Equal(3, asked.Count);
    }

    [SkippableFact]
    public async Task Save_over_a_shipped_template_is_refused_and_save_as_a_new_name_writes_it()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        var shipped = await File.ReadAllTextAsync(Path.Combine(server.WorkflowsFolder, "txt2img.yaml"));
        await DeleteNodeAsync(page, "save");

        await page.ClickAsync("#save");
        await page.WaitForFunctionAsync("() => document.querySelector('#notice').textContent.includes('shipped template')");
        Assert.Equal(shipped, await File.ReadAllTextAsync(Path.Combine(server.WorkflowsFolder, "txt2img.yaml")));

        await page.FillAsync("#save-name", "my-txt2img");
        await page.DispatchEventAsync("#save-name", "change");
        await page.ClickAsync("#save");
        await page.WaitForFunctionAsync("() => document.querySelector('#notice').textContent.includes('Saved')");
        var mine = await File.ReadAllTextAsync(Path.Combine(server.WorkflowsFolder, "my-txt2img.yaml"));
        Assert.DoesNotContain("image.save", mine);
        Assert.Contains("vae.decode", mine);
    }

    [SkippableFact]
    public async Task Malformed_upload_says_it_was_not_opened()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");

        await page.SetInputFilesAsync(".fd-upload input[type=file]", new FilePayload
        {
            Name = "broken.yaml",
            MimeType = "application/yaml",
            Buffer = System.Text.Encoding.UTF8.GetBytes("flowdiffusion: 1\nnodes: [\n  unclosed"),
        });

        await page.WaitForFunctionAsync("() => document.querySelector('#notice').textContent.includes('broken.yaml')");
        var notice = await page.InnerTextAsync("#notice");
        Assert.DoesNotContain("Opened", notice);
        Assert.Contains("Not opened", notice);
        Assert.Equal(12, await page.Locator(".fd-node").CountAsync());
    }

    private static async Task DeleteNodeAsync(IPage page, string id)
    {
        var before = await page.Locator(".fd-node").CountAsync();
        await page.ClickAsync($".fd-node[data-id={id}] .fd-node-header");
        await page.Keyboard.PressAsync("Delete");
        await WaitForCountAsync(page, ".fd-node", before - 1);
    }

    // A 1×1 PNG with no text chunks, as any photo or ComfyUI output without our metadata.
    private static byte[] PlainPng() => Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");
}
