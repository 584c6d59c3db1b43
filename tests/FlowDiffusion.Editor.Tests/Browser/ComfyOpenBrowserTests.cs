using System.Text;
using FlowDiffusion.Editor.Running;
using FlowDiffusion.Editor.Tests.Comfy;
using Microsoft.Playwright;
using static FlowDiffusion.Editor.Tests.Browser.PageSteps;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>ComfyUI files dropped or uploaded in the editor open converted, with ComfyUI's positions, and run.</summary>
[Collection(EditorBrowserCollection.Name)]
public sealed class ComfyOpenBrowserTests(EditorServer server)
{
    [SkippableFact]
    public async Task A_dropped_comfyui_ui_file_opens_with_its_positions_and_runs_to_a_blue_image()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        var expected = ComfyOpen.Read(ComfyFiles.UiTxt2Img, "txt2img-ui.json", ComfyFiles.Folders).Workflow!;

        await DropAsync(page, "txt2img-ui.json", ComfyFiles.UiTxt2Img);
        await page.WaitForFunctionAsync("() => document.querySelector('#notice').textContent.includes('Opened the ComfyUI workflow')");
        await page.WaitForFunctionAsync("n => document.title.includes(n)", "txt2img-ui");
        await WaitForCountAsync(page, ".fd-node", expected.Nodes.Count);
        // ComfyUI's canvas coordinates become ours: KSampler (3) at [863, 186].
        Assert.Contains("left:863px;top:186px", await page.GetAttributeAsync(".fd-node[data-id=n3]", "style"));
        // Its group is drawn as a group, and its Reroute as a point on both prompts' CLIP links.
        Assert.Equal("Prompts", await page.InnerTextAsync(".fd-group .fd-group-title"));
        Assert.Equal(1, await page.Locator(".fd-reroute[data-id=r11]").CountAsync());
        Assert.True(await page.Locator("path.fd-link[data-route=r11]").CountAsync() >= 4);
        Assert.Equal(0, await page.Locator(".fd-problem.fd-error").CountAsync());
        Assert.Equal("txt2img-ui", await page.InputValueAsync("#save-name"));

        await page.ClickAsync("#run");
        await page.WaitForSelectorAsync(".fd-run-status[data-outcome=done]", new PageWaitForSelectorOptions { Timeout = 120_000 });
        await page.WaitForSelectorAsync("img.fd-output");
        var mean = await MeanColourAsync(page, "img.fd-output");
        Assert.True(mean[2] > 0.6 && mean[0] < 0.3 && mean[1] < 0.3, $"the ComfyUI graph's 'a blue ball' gave mean colour {string.Join(", ", mean)}");
    }

    [SkippableFact]
    public async Task A_comfyui_png_asks_before_replacing_unsaved_edits_and_an_uploaded_ui_file_opens_too()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        await page.ClickAsync(".fd-node[data-id=save] .fd-node-header");
        await page.Keyboard.PressAsync("Delete");
        await WaitForCountAsync(page, ".fd-node", 11);
        var expected = ComfyOpen.Read(ComfyFiles.UiTxt2Img, "x.json", ComfyFiles.Folders).Workflow!.Nodes.Count;
        var png = ComfyFiles.WithText(ComfyFiles.PlainPng, ("workflow", Encoding.UTF8.GetString(ComfyFiles.UiTxt2Img)));

        var asked = new List<string>();
        var accept = false;
        page.Dialog += async (_, dialog) =>
        {
            asked.Add(dialog.Message);
            if (accept) await dialog.AcceptAsync(); else await dialog.DismissAsync();
        };
        await DropAsync(page, "ComfyUI_00001_.png", png);
        await WaitUntilAsync(() => asked.Count == 1);
        Assert.Contains("unsaved edits", asked[0]);
        Assert.Equal(11, await page.Locator(".fd-node").CountAsync());

        accept = true;
        await DropAsync(page, "ComfyUI_00001_.png", png);
        await page.WaitForFunctionAsync("() => document.title.includes('ComfyUI_00001_')");
        await WaitForCountAsync(page, ".fd-node", expected);
        Assert.Equal(2, asked.Count);

        // The upload button takes ComfyUI JSON as well; the converted document is clean, so no question this time.
        await page.SetInputFilesAsync(".fd-upload input[type=file]", new FilePayload { Name = "uploaded.json", MimeType = "application/json", Buffer = ComfyFiles.UiTxt2Img });
        await page.WaitForFunctionAsync("() => document.title.includes('uploaded')");
        await WaitForCountAsync(page, ".fd-node", expected);
        Assert.Equal(2, asked.Count);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The condition did not hold within 30 s.");
            await Task.Delay(50);
        }
    }
}
