using FlowDiffusion.Formats.Safetensors;
using Microsoft.Playwright;
using static FlowDiffusion.Editor.Tests.Browser.PageSteps;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>
/// The Civitai recipe from the editor: a user whose models folder holds only .safetensors files (checkpoint, two LoRAs,
/// a VAE, embeddings) opens the shipped recipe-txt2img workflow, picks them in its model, LoRA and VAE pickers, adds
/// embeddings to the prompts with the embedding picker and runs it; the picture is the one torch draws for that recipe
/// (tools/reference/make_recipe.py). In the browser collection so no other browser test shares the machine with its
/// second editor process.
/// </summary>
[Collection(EditorBrowserCollection.Name)]
public sealed class RecipeWorkflowBrowserTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny");

    [SkippableFact]
    public async Task Recipe_txt2img_with_pickers_for_checkpoint_loras_vae_and_embeddings_draws_what_torch_draws()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        using var home = new TempFolder();
        var models = Path.Combine(home.Path, "models");
        Copy(Path.Combine(Data, "ldm-fp16.safetensors"), Path.Combine(models, "checkpoints", "tiny.safetensors"));
        Copy(Path.Combine(Data, "lora", "kohya-a.safetensors"), Path.Combine(models, "loras", "kohya-a.safetensors"));
        Copy(Path.Combine(Data, "lora", "peft-b.safetensors"), Path.Combine(models, "loras", "peft-b.safetensors"));
        Copy(Path.Combine(Data, "vae", "swapped-vae.safetensors"), Path.Combine(models, "vae", "swapped-vae.safetensors"));
        foreach (var name in new[] { "one-clip-l", "sp", "style-a1111" })
            Copy(Path.Combine(Data, "embeddings", name + ".safetensors"), Path.Combine(models, "embeddings", name + ".safetensors"));
        foreach (var file in new[] { "vocab.json", "merges.txt" })
            Copy(Path.Combine(RepositoryRoot.Path, "models", "tiny-sd", "tokenizer", file), Path.Combine(models, "tokenizers", "tiny", file));

        var server = EditorServer.WithModels("editor-recipe", models);
        try
        {
            await server.InitializeAsync();
            var page = await server.OpenAsync();
            await OpenSavedAsync(page, "recipe-txt2img");

            await PickAsync(page, "model", "checkpoints/tiny.safetensors");
            await PickAsync(page, "lora_1", "loras/kohya-a.safetensors");
            await PickAsync(page, "lora_2", "loras/peft-b.safetensors");
            await PickAsync(page, "vae", "vae/swapped-vae.safetensors");
            // The LoRA picker offers the files in models/loras and "(none)", not checkpoints or VAEs (once the choice has
            // re-rendered it, the workflow's default file, which is not there, is no longer offered).
            await page.WaitForFunctionAsync("() => document.querySelectorAll('[data-input=lora_2] select option').length === 3");
            Assert.Equal(["", "kohya-a.safetensors", "peft-b.safetensors"], (await OptionsAsync(page, "lora_2")).Select(Path.GetFileName));

            // The embedding picker beside each prompt appends embedding:NAME.
            await SetInputAsync(page, "prompt", "");
            await page.SelectOptionAsync("[data-input=prompt] select[data-embedding-for=prompt]", "style-a1111");
            await page.WaitForFunctionAsync("() => document.querySelector('[data-input=prompt] textarea').value === 'embedding:style-a1111'");
            await SetInputAsync(page, "prompt", "embedding:style-a1111 a sp");
            await SetInputAsync(page, "negative", "");
            await page.SelectOptionAsync("[data-input=negative] select[data-embedding-for=negative]", "one-clip-l");
            await page.WaitForFunctionAsync("() => document.querySelector('[data-input=negative] textarea').value === 'embedding:one-clip-l'");

            await SetInputAsync(page, "tokenizer_folder", Path.Combine(models, "tokenizers", "tiny"));
            await SetInputAsync(page, "embeddings", Path.Combine(models, "embeddings"));
            await SetInputAsync(page, "lora_1_strength", "0.8");
            await SetInputAsync(page, "lora_2_strength", "0.6");
            await SetInputAsync(page, "seed", "7");
            await SetInputAsync(page, "steps", "4");
            await SetInputAsync(page, "cfg", "6");
            await SetInputAsync(page, "width", "64");
            await SetInputAsync(page, "height", "64");
            Assert.Equal("2", await page.InputValueAsync("[data-input=clip_skip] input"));

            await page.ClickAsync("#run");
            await page.WaitForSelectorAsync(".fd-run-status[data-outcome=done]", new PageWaitForSelectorOptions { Timeout = 180_000 });
            await page.WaitForSelectorAsync("img.fd-output");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(EditorServer.Screenshots, "editor-recipe.png") });

            // The gallery's 8-bit PNG against torch's float image: within rounding (half a level) and a little more.
            var pixels = await PixelsAsync(page, "img.fd-output");
            using var reference = SafetensorsFile.Open(Path.Combine(Data, "recipe-reference.safetensors"));
            var expected = reference.ReadFloat32("recipe.image");
            Assert.Equal(expected.Length, pixels.Length);
            var worst = expected.Zip(pixels, (e, p) => Math.Abs(e - p)).Max();
            Assert.True(worst <= 1.0 / 255 + 2e-3, $"the editor's image differs from torch's by up to {worst * 255:F2} levels");
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    // Selects the option of a picker whose path ends with the given part of the models folder.
    private static async Task PickAsync(IPage page, string input, string ending)
    {
        var option = (await OptionsAsync(page, input)).Single(o => o.EndsWith("/" + ending, StringComparison.Ordinal));
        await page.SelectOptionAsync($"[data-input={input}] select", option);
        await page.WaitForFunctionAsync("([i, v]) => document.querySelector(`[data-input=${i}] select`).value === v", new[] { input, option });
    }

    private static Task<string[]> OptionsAsync(IPage page, string input) =>
        page.EvalOnSelectorAllAsync<string[]>($"[data-input={input}] select option", "os => os.map(o => o.value)");

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        File.Copy(from, to);
    }
}
