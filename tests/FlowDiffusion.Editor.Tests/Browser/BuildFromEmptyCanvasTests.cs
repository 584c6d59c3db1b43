using Microsoft.Playwright;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>A txt2img graph built in the browser from an empty canvas: nodes added by search, wired by dragging ports, saved.</summary>
[Collection(EditorBrowserCollection.Name)]
public sealed class BuildFromEmptyCanvasTests(EditorServer server)
{
    // Node type (typed into the search box) and the grid cell (column, row) its search box is opened in; no node may
    // reach down over a cell used later (guidance.cfg and diffusion.sample are the tallest), so neither has one below.
    private static readonly (string Type, int Column, int Row)[] Nodes =
    [
        ("model.load", 0, 0), ("clip.tokenize", 1, 0), ("clip.encode", 2, 0), ("vae.decode", 4, 0),
        ("unet.denoiser", 1, 1), ("diffusion.sample", 3, 1), ("image.save", 4, 1),
        ("diffusion.scheduler", 1, 2), ("latent.noise", 2, 2), ("guidance.cfg", 0, 2),
    ];

    // One prompt serves as both conditionings: with equal halves, guidance returns the prompt's prediction.
    private static readonly (string From, string Output, string To, string Input)[] Links =
    [
        ("load", "tokenizer", "tokenize", "tokenizer"), ("load", "clip", "encode", "clip"), ("tokenize", "tokens", "encode", "tokens"),
        ("load", "unet", "denoiser", "unet"), ("denoiser", "denoiser", "cfg", "denoiser"),
        ("encode", "conditioning", "cfg", "positive"), ("encode", "conditioning", "cfg", "negative"),
        ("load", "scheduler_config", "scheduler", "config"), ("cfg", "guider", "sample", "guider"),
        ("scheduler", "schedule", "sample", "schedule"), ("noise", "noise", "sample", "noise"),
        ("load", "vae", "decode", "vae"), ("sample", "latent", "decode", "latent"), ("decode", "image", "save", "images"),
    ];

    [SkippableFact]
    public async Task Txt2img_built_by_search_and_port_dragging_saves_a_file_the_engine_validates_and_runs_blue()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await page.ClickAsync("#new");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('.fd-node').length === 0");
        var canvas = (await page.Locator(".fd-canvas").BoundingBoxAsync())!;
        // Zoom out to half size at the canvas's top-left corner so the whole graph fits.
        await page.Mouse.MoveAsync(canvas.X + 1, canvas.Y + 1);
        await page.Mouse.WheelAsync(0, 462);
        await page.WaitForTimeoutAsync(500);

        var added = 0;
        foreach (var (type, column, row) in Nodes)
        {
            await page.Mouse.DblClickAsync(canvas.X + 20 + column * 140, canvas.Y + 20 + row * 240);
            var search = page.Locator(".fd-overlay input.fd-search");
            await search.FillAsync(type);
            await search.PressAsync("Enter");
            added++;
            await page.WaitForFunctionAsync("n => document.querySelectorAll('.fd-node').length === n && !document.querySelector('.fd-overlay')", added);
        }
        Assert.Equal(Nodes.Length, await page.Locator(".fd-node").CountAsync());

        foreach (var (from, output, to, input) in Links)
        {
            await DragAsync(page, $".fd-node[data-id={from}] .fd-port[data-dir=out][data-port={output}]", $".fd-node[data-id={to}] .fd-port[data-dir=in][data-port={input}]");
            await page.WaitForSelectorAsync($"path.fd-link[data-from={from}][data-to={to}]", new PageWaitForSelectorOptions { State = WaitForSelectorState.Attached });
        }
        Assert.Equal(Links.Length, await page.Locator("path.fd-link").CountAsync());

        await page.SelectOptionAsync(".fd-node[data-id=load] select[data-param=path]", "models/analytic-sd");
        await SetAsync(page, ".fd-node[data-id=tokenize] textarea[data-param=text]", "a blue ball");
        await SetAsync(page, ".fd-node[data-id=noise] input[data-param=width]", "64");
        await SetAsync(page, ".fd-node[data-id=noise] input[data-param=height]", "64");
        await SetAsync(page, ".fd-node[data-id=scheduler] input[data-param=steps]", "4");
        await page.WaitForSelectorAsync(".fd-problems .fd-empty.fd-good");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(EditorServer.Screenshots, "editor-built-from-empty.png") });

        await SetAsync(page, "#save-name", "built");
        await page.ClickAsync("#save");
        await page.WaitForSelectorAsync("#notice >> text=Saved");

        var saved = Path.Combine(server.WorkflowsFolder, "built.yaml");
        var outputs = Path.Combine(server.OutputFolder, "built");
        if (Cli.Assembly is null)
        {
            // Only this project was built: the engine's own load and run are what the CLI calls.
            var check = SdCatalog.Engine.Load(saved);
            Assert.True(check.IsValid, string.Join("\n", check.Diagnostics));
            var run = SdCatalog.Engine.Start(check.Plan!, new FlowDiffusion.Engine.Execution.RunOptions { OutputDirectory = outputs, WorkingDirectory = RepositoryRoot.Path });
            await foreach (var _ in run.ReadEventsAsync()) { }
            Assert.Equal(FlowDiffusion.Engine.Execution.RunStatus.Completed, (await run.Completion).Status);
        }
        else
        {
            var validate = await Cli.RunAsync("validate", saved);
            Assert.True(validate.ExitCode == 0, validate.Output);
            var run = await Cli.RunAsync("run", saved, "--out", outputs);
            Assert.True(run.ExitCode == 0, run.Output);
        }
        Assert.NotEmpty(Directory.EnumerateFiles(outputs, "*.png", SearchOption.AllDirectories));
    }

    private static async Task SetAsync(IPage page, string selector, string value)
    {
        var field = page.Locator(selector);
        await field.FillAsync(value);
        await field.DispatchEventAsync("change");
        await page.WaitForTimeoutAsync(150);
    }

    private static async Task DragAsync(IPage page, string from, string to)
    {
        var a = (await page.Locator(from).BoundingBoxAsync())!;
        var b = (await page.Locator(to).BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(a.X + a.Width / 2, a.Y + a.Height / 2);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(b.X + b.Width / 2, b.Y + b.Height / 2, new MouseMoveOptions { Steps = 8 });
        await page.Mouse.UpAsync();
    }
}
