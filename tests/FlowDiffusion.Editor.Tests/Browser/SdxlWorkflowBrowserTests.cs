using Microsoft.Playwright;
using static FlowDiffusion.Editor.Tests.Browser.PageSteps;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>
/// SDXL from the editor: a user drops an SDXL checkpoint into models/checkpoints and an SDXL LoRA into models/loras, opens
/// the shipped sdxl-txt2img, sdxl-img2img and sdxl-inpaint workflows, picks both in their pickers — the model picker names
/// the checkpoint's architecture — and runs each to a picture. In the browser collection so no other browser test shares
/// the machine with its second editor process.
/// </summary>
[Collection(EditorBrowserCollection.Name)]
public sealed class SdxlWorkflowBrowserTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData");

    [SkippableFact]
    public async Task Sdxl_checkpoint_and_lora_dropped_into_models_run_txt2img_img2img_and_inpaint_with_the_architecture_in_the_picker()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        using var home = new TempFolder();
        var models = Path.Combine(home.Path, "models");
        Copy(Path.Combine(Data, "sdxl-tiny", "sdxl-fp16.safetensors"), Path.Combine(models, "checkpoints", "sdxl-tiny.safetensors"));
        Copy(Path.Combine(Data, "sd1-tiny", "ldm-fp16.safetensors"), Path.Combine(models, "checkpoints", "sd1-tiny.safetensors"));
        Copy(Path.Combine(Data, "sdxl-tiny", "lora", "kohya-a.safetensors"), Path.Combine(models, "loras", "sdxl-a.safetensors"));
        foreach (var file in new[] { "vocab.json", "merges.txt" })
            Copy(Path.Combine(RepositoryRoot.Path, "models", "tiny-sd", "tokenizer", file), Path.Combine(models, "tokenizers", "tiny", file));

        var server = EditorServer.WithModels("editor-sdxl", models);
        try
        {
            await server.InitializeAsync();
            // The image and mask pickers list the editor's workflows folder (one of its input folders), as a user's uploads land there.
            foreach (var asset in new[] { "landscape.png", "mask.png" })
                Copy(Path.Combine(RepositoryRoot.Path, "workflows", "assets", asset), Path.Combine(server.WorkflowsFolder, "assets", asset));
            foreach (var workflow in new[] { "sdxl-txt2img", "sdxl-img2img", "sdxl-inpaint" })
            {
                var page = await server.OpenAsync();
                await OpenSavedAsync(page, workflow);

                // The picker's labels name each checkpoint's family; the full architecture is the option's tooltip.
                var labels = await page.EvalOnSelectorAllAsync<string[]>("[data-input=model] select option", "os => os.map(o => o.textContent.trim())");
                Assert.Contains(labels, l => l.EndsWith("checkpoints/sdxl-tiny.safetensors — SDXL", StringComparison.Ordinal));
                Assert.Contains(labels, l => l.EndsWith("checkpoints/sd1-tiny.safetensors — SD 1.x", StringComparison.Ordinal));
                await PickAsync(page, "model", "checkpoints/sdxl-tiny.safetensors");
                await PickAsync(page, "lora", "loras/sdxl-a.safetensors");
                if (workflow != "sdxl-txt2img") await PickAsync(page, "image", "assets/landscape.png");
                if (workflow == "sdxl-inpaint") await PickAsync(page, "mask", "assets/mask.png");

                await SetInputAsync(page, "tokenizer_folder", Path.Combine(models, "tokenizers", "tiny"));
                await SetInputAsync(page, "lora_strength", "0.8");
                await SetInputAsync(page, "prompt", "a red circle");
                await SetInputAsync(page, "steps", "2");
                await SetInputAsync(page, "cfg", "5");
                await SetInputAsync(page, "width", "64");
                await SetInputAsync(page, "height", "64");

                await page.ClickAsync("#run");
                // The first run converts the checkpoint; a busy machine may take minutes. A failed run says why at once.
                await page.WaitForSelectorAsync(".fd-run-status[data-outcome=done], .fd-run-status[data-outcome=failed], .fd-run-error",
                    new PageWaitForSelectorOptions { Timeout = 420_000 });
                var status = await page.InnerTextAsync(".fd-run-status");
                var error = await page.Locator(".fd-run-error").CountAsync() > 0 ? await page.InnerTextAsync(".fd-run-error") : "";
                Assert.True(await page.Locator(".fd-run-status[data-outcome=done]").CountAsync() == 1, $"{workflow}: {status} {error}");
                await page.WaitForSelectorAsync("img.fd-output");
                var size = await page.EvalOnSelectorAsync<int[]>("img.fd-output", "async i => { await i.decode(); return [i.naturalWidth, i.naturalHeight]; }");
                Assert.Equal([64, 64], size);
                await page.CloseAsync();
            }
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    // Selects the option of a picker whose path ends with the given part of the models folder.
    private static async Task PickAsync(IPage page, string input, string ending)
    {
        var options = await page.EvalOnSelectorAllAsync<string[]>($"[data-input={input}] select option", "os => os.map(o => o.value)");
        // The workflow's own default (workflows/…, outside this editor's input folders) stays listed until replaced.
        var option = options.Single(o => o.EndsWith("/" + ending, StringComparison.Ordinal) && !o.StartsWith("workflows/", StringComparison.Ordinal));
        await page.SelectOptionAsync($"[data-input={input}] select", option);
        await page.WaitForFunctionAsync("([i, v]) => document.querySelector(`[data-input=${i}] select`).value === v", new[] { input, option });
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        File.Copy(from, to);
    }
}
