using Microsoft.Playwright;
using static FlowDiffusion.Editor.Tests.Browser.PageSteps;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>Editing the canvas like ComfyUI: links, context menus, titles, bypass, bound parameters, the search pop-up, placement.</summary>
[Collection(EditorBrowserCollection.Name)]
public sealed class CanvasEditingTests(EditorServer server)
{
    private const string DecodeLatent = "path.fd-link[data-to=decode][data-in-port=latent]";

    [SkippableFact]
    public async Task Link_is_selected_by_a_click_and_deleted_with_delete_and_dragged_off_its_input_to_remove_it()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        var links = await page.Locator("path.fd-link").CountAsync();

        await ClickLinkAsync(page, "decode", "latent");
        await page.WaitForSelectorAsync(DecodeLatent + ".fd-link-selected");
        await page.Keyboard.PressAsync("Delete");
        await WaitForCountAsync(page, "path.fd-link", links - 1);
        Assert.Equal(0, await page.Locator(DecodeLatent).CountAsync());
        Assert.Equal(12, await page.Locator(".fd-node").CountAsync());
        await page.ClickAsync("#undo");
        await WaitForCountAsync(page, "path.fd-link", links);

        // Drag from the connected input to empty canvas: the link comes off.
        var input = await CentreAsync(page, ".fd-node[data-id=decode] .fd-port[data-port=latent]");
        await page.Mouse.MoveAsync(input.X, input.Y);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(input.X - 60, input.Y + 250, new MouseMoveOptions { Steps = 8 });
        await page.Mouse.UpAsync();
        await WaitForCountAsync(page, "path.fd-link", links - 1);
        Assert.Equal(0, await page.Locator(DecodeLatent).CountAsync());
    }

    [SkippableFact]
    public async Task Align_tops_and_distribute_from_the_context_menu_of_a_multi_selection()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        string[] ids = ["positive", "negative", "noise"];
        await page.ClickAsync($".fd-node[data-id={ids[0]}] .fd-node-header");
        foreach (var id in ids[1..]) await page.ClickAsync($".fd-node[data-id={id}] .fd-node-header", new PageClickOptions { Modifiers = [KeyboardModifier.Control] });
        await WaitForCountAsync(page, ".fd-node.fd-selected", 3);

        await page.ClickAsync($".fd-node[data-id={ids[2]}] .fd-node-header", new PageClickOptions { Button = MouseButton.Right });
        await page.ClickAsync("#context-menu [data-action=align-top]");
        await page.WaitForFunctionAsync("""
            ids => new Set(ids.map(id => document.querySelector(`.fd-node[data-id=${id}]`).style.top)).size === 1
            """, ids);
        await page.ClickAsync($".fd-node[data-id={ids[2]}] .fd-node-header", new PageClickOptions { Button = MouseButton.Right });
        await page.ClickAsync("#context-menu [data-action=distribute-horizontal]");
        await page.WaitForFunctionAsync("""
            ids => {
              const xs = ids.map(id => parseFloat(document.querySelector(`.fd-node[data-id=${id}]`).style.left)).sort((a, b) => a - b);
              return Math.abs((xs[1] - xs[0]) - (xs[2] - xs[1])) <= 1;
            }
            """, ids);
        await page.ClickAsync("#undo");
        await page.ClickAsync("#undo");
        await page.WaitForFunctionAsync("""
            ids => new Set(ids.map(id => document.querySelector(`.fd-node[data-id=${id}]`).style.top)).size > 1
            """, ids);
    }

    [SkippableFact]
    public async Task Context_menus_rename_bypass_duplicate_and_delete_nodes_and_delete_links()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        page.Dialog += async (_, dialog) => await dialog.AcceptAsync(dialog.Type == "prompt" ? "Prompt encoder" : null);

        await page.ClickAsync(".fd-node[data-id=positive] .fd-node-header", new PageClickOptions { Button = MouseButton.Right });
        await page.ClickAsync("#context-menu[data-kind=node] [data-action=rename]");
        await page.WaitForFunctionAsync("() => document.querySelector('.fd-node[data-id=positive] .fd-node-title').textContent === 'Prompt encoder'");

        await page.ClickAsync(".fd-node[data-id=positive] .fd-node-header", new PageClickOptions { Button = MouseButton.Right });
        await page.ClickAsync("#context-menu [data-action=bypass]");
        await page.WaitForSelectorAsync(".fd-node[data-id=positive].fd-bypassed");
        // A bypassed encoder has no Conditioning input to pass on: the problem list says so, on that node.
        await page.WaitForSelectorAsync(".fd-node[data-id=positive] .fd-node-problem");
        Assert.Contains("bypassed", await page.InnerTextAsync(".fd-node[data-id=positive] .fd-node-problem"));

        await page.ClickAsync(".fd-node[data-id=noise] .fd-node-header", new PageClickOptions { Button = MouseButton.Right });
        await page.ClickAsync("#context-menu [data-action=duplicate]");
        await WaitForCountAsync(page, ".fd-node", 13);
        await page.ClickAsync(".fd-node[data-id=noise_2] .fd-node-header", new PageClickOptions { Button = MouseButton.Right });
        await page.ClickAsync("#context-menu [data-action=delete]");
        await WaitForCountAsync(page, ".fd-node", 12);

        var links = await page.Locator("path.fd-link").CountAsync();
        var hit = await LinkPointAsync(page, "decode", "latent");
        await page.Mouse.ClickAsync(hit.X, hit.Y, new MouseClickOptions { Button = MouseButton.Right });
        await page.ClickAsync("#context-menu[data-kind=link] [data-action=delete-link]");
        await WaitForCountAsync(page, "path.fd-link", links - 1);

        // Right click on empty canvas: the canvas menu, whose "Add node…" opens the search.
        var canvas = (await page.Locator(".fd-canvas").BoundingBoxAsync())!;
        await page.Mouse.ClickAsync(canvas.X + 20, canvas.Y + canvas.Height - 20, new MouseClickOptions { Button = MouseButton.Right });
        await page.ClickAsync("#context-menu[data-kind=canvas] [data-action=add]");
        await page.WaitForSelectorAsync(".fd-overlay .fd-search");
    }

    [SkippableFact]
    public async Task Search_opens_on_empty_canvas_only_stays_on_screen_keeps_fast_typing_walks_with_arrows_and_ignores_ctrl_enter()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");

        await page.DblClickAsync(".fd-node[data-id=positive] .fd-node-id");
        await page.WaitForTimeoutAsync(400);
        Assert.Equal(0, await page.Locator(".fd-overlay").CountAsync());

        var canvas = (await page.Locator(".fd-canvas").BoundingBoxAsync())!;
        await page.Mouse.DblClickAsync(canvas.X + canvas.Width - 8, canvas.Y + canvas.Height - 8);
        await page.WaitForSelectorAsync(".fd-overlay .fd-search");
        var popup = (await page.Locator(".fd-overlay").BoundingBoxAsync())!;
        Assert.True(popup.X >= canvas.X && popup.Y >= canvas.Y && popup.X + popup.Width <= canvas.X + canvas.Width + 1 && popup.Y + popup.Height <= canvas.Y + canvas.Height + 1,
            $"search pop-up {popup.X},{popup.Y} {popup.Width}x{popup.Height} leaves the canvas {canvas.X},{canvas.Y} {canvas.Width}x{canvas.Height}");

        await page.Keyboard.TypeAsync("clip"); // no delay between keys
        Assert.Equal("clip", await page.InputValueAsync(".fd-overlay .fd-search"));
        // The list is filtered to what matches (clip.encode and clip.tokenize among them; nodes whose descriptions mention
        // CLIP, such as clip_vision.*, match too) and the active entry is a clip node.
        await page.WaitForFunctionAsync("() => { const types = [...document.querySelectorAll('.fd-overlay .fd-node-type')].map(b => b.dataset.type); return types.includes('clip.encode') && types.includes('clip.tokenize') && !types.includes('latent.empty') && document.querySelector('.fd-overlay .fd-node-type.fd-active').dataset.type.startsWith('clip'); }");
        var first = await page.GetAttributeAsync(".fd-overlay .fd-node-type.fd-active", "data-type");
        await page.Keyboard.PressAsync("ArrowDown");
        await page.WaitForFunctionAsync("t => document.querySelector('.fd-overlay .fd-node-type.fd-active').dataset.type !== t", first);
        var second = await page.GetAttributeAsync(".fd-overlay .fd-node-type.fd-active", "data-type");

        var nodes = await page.Locator(".fd-node").CountAsync();
        var ofSecond = $".fd-node[data-id^='{second!.Split('.')[1]}']";
        var secondBefore = await page.Locator(ofSecond).CountAsync();
        await page.Keyboard.PressAsync("Control+Enter");
        await page.WaitForTimeoutAsync(500);
        Assert.Equal(nodes, await page.Locator(".fd-node").CountAsync());

        await page.Keyboard.PressAsync("Enter");
        await WaitForCountAsync(page, ".fd-node", nodes + 1);
        // The one the arrow moved to was added, not the first match.
        Assert.Equal(secondBefore + 1, await page.Locator(ofSecond).CountAsync());
    }

    [SkippableFact]
    public async Task Bound_parameter_edits_its_inputs_default_and_a_parameter_is_exposed_and_inlined_from_the_node()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");

        var seed = page.Locator(".fd-node[data-id=noise] [data-param-row=seed] input[type=number]");
        await seed.FillAsync("77");
        await seed.DispatchEventAsync("change");
        await page.WaitForFunctionAsync("() => document.querySelector('[data-input=seed] input[type=number]').value === '77'");

        await page.ClickAsync(".fd-node[data-id=save] [data-param-row=prefix] .fd-expose");
        await page.WaitForSelectorAsync("[data-input=prefix]");
        Assert.Equal("txt2img", await page.InputValueAsync("[data-input=prefix] input"));
        await page.WaitForSelectorAsync(".fd-node[data-id=save] [data-param-row=prefix] .fd-bound[data-bound=prefix]");

        await page.ClickAsync(".fd-node[data-id=save] [data-param-row=prefix] .fd-bound");
        await page.WaitForSelectorAsync("[data-input=prefix]", new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached });
        Assert.Equal("txt2img", await page.InputValueAsync(".fd-node[data-id=save] [data-param-row=prefix] input"));
    }

    [SkippableFact]
    public async Task Input_description_and_range_are_edited_in_the_inputs_panel_and_an_input_is_removed_and_undone()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        const string spec = "[data-input-spec=steps]";
        const string onNode = ".fd-node[data-id=schedule] [data-param-row=steps] input[type=number]";
        await page.ClickAsync(spec + " summary");
        await page.FillAsync(spec + " [data-spec=description]", "Sampling steps.");
        await page.DispatchEventAsync(spec + " [data-spec=description]", "change");
        // The next fields are filled at once, without waiting for the edit before to come back rendered: a change sent
        // from a field the browser had not yet re-rendered must not put back what the edits before it set.
        await page.FillAsync(spec + " [data-spec=max]", "60");
        await page.DispatchEventAsync(spec + " [data-spec=max]", "change");
        await page.FillAsync(spec + " [data-spec=min]", "2");
        await page.DispatchEventAsync(spec + " [data-spec=min]", "change");

        // The form's widget and the bound widget on the node take the new range; the label shows the description.
        await page.WaitForFunctionAsync("s => document.querySelector(s).min === '2'", onNode);
        Assert.Equal("60", await page.GetAttributeAsync(onNode, "max"));
        Assert.Equal("2", await page.GetAttributeAsync("[data-input=steps] input[type=number]", "min"));
        Assert.Equal("60", await page.GetAttributeAsync("[data-input=steps] input[type=number]", "max"));
        Assert.Equal("Sampling steps.", await page.GetAttributeAsync("[data-input=steps] label", "title"));

        // A minimum above the maximum is refused, saying why.
        await page.FillAsync(spec + " [data-spec=min]", "70");
        await page.DispatchEventAsync(spec + " [data-spec=min]", "change");
        await page.WaitForFunctionAsync("() => document.querySelector('#notice').textContent.includes('above the maximum')");
        Assert.Equal("2", await page.GetAttributeAsync(onNode, "min"));

        // Removing the input leaves its default on the node it was bound to; undo brings the input back.
        await page.ClickAsync(spec + " [data-action=remove-input]");
        await page.WaitForSelectorAsync("[data-input=steps]", new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached });
        Assert.Equal(0, await page.Locator(".fd-node[data-id=schedule] [data-param-row=steps] .fd-bound").CountAsync());
        Assert.Equal("30", await page.InputValueAsync(".fd-node[data-id=schedule] [data-param-row=steps] input[type=number]"));
        await page.ClickAsync("#undo");
        await page.WaitForSelectorAsync("[data-input=steps]");
        await page.WaitForSelectorAsync(".fd-node[data-id=schedule] [data-param-row=steps] .fd-bound[data-bound=steps]");
        Assert.Equal("60", await page.GetAttributeAsync(onNode, "max"));
    }

    [SkippableFact]
    public async Task Nodes_copied_in_one_tab_paste_into_another_with_their_link_and_bound_input()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        // Two tabs of one browser: each its own editor session, both the same browser storage.
        var browser = await server.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        var first = await TabAsync(browser);
        var second = await TabAsync(browser);
        await OpenSavedAsync(first, "txt2img");
        await second.ClickAsync("#new");
        await WaitForCountAsync(second, ".fd-node", 0);

        await first.BringToFrontAsync();
        await first.ClickAsync(".fd-node[data-id=positive_tokens] .fd-node-header");
        await first.ClickAsync(".fd-node[data-id=positive] .fd-node-header", new PageClickOptions { Modifiers = [KeyboardModifier.Control] });
        await WaitForCountAsync(first, ".fd-node.fd-selected", 2);
        await first.Keyboard.PressAsync("Control+c");
        await first.WaitForFunctionAsync("() => (localStorage.getItem('flowdiffusion.clipboard') || '').includes('positive_tokens')");

        await second.BringToFrontAsync();
        await second.Keyboard.PressAsync("Control+v");
        await WaitForCountAsync(second, ".fd-node", 2);
        Assert.Equal(1, await second.Locator(".fd-node[data-id=positive_tokens]").CountAsync());
        Assert.Equal(1, await second.Locator(".fd-node[data-id=positive]").CountAsync());
        // The link between the copied nodes is kept; the prompt input they were bound to came along with its value.
        Assert.Equal(1, await second.Locator("path.fd-link[data-from=positive_tokens][data-to=positive]").CountAsync());
        await second.WaitForSelectorAsync("[data-input=prompt]");
        Assert.Equal(await first.InputValueAsync("[data-input=prompt] textarea"),
            await second.InputValueAsync("[data-input=prompt] textarea"));
        await second.ClickAsync("#undo");
        await WaitForCountAsync(second, ".fd-node", 0);
    }

    private async Task<IPage> TabAsync(IBrowserContext browser)
    {
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(server.Url);
        await page.WaitForSelectorAsync(".fd-canvas[data-ready='1']");
        await page.WaitForSelectorAsync(".fd-node");
        return page;
    }

    [SkippableFact]
    public async Task Nodes_added_from_the_library_do_not_overlap()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await page.ClickAsync("#new");
        await WaitForCountAsync(page, ".fd-node", 0);
        for (var i = 1; i <= 3; i++)
        {
            await page.ClickAsync(".fd-left .fd-node-type[data-type='latent.noise']");
            await WaitForCountAsync(page, ".fd-node", i);
        }
        await page.ClickAsync(".fd-left .fd-node-type[data-type='clip.encode']");
        await WaitForCountAsync(page, ".fd-node", 4);

        var boxes = new List<LocatorBoundingBoxResult>();
        foreach (var node in await page.Locator(".fd-node").AllAsync()) boxes.Add((await node.BoundingBoxAsync())!);
        for (var i = 0; i < boxes.Count; i++)
        for (var j = i + 1; j < boxes.Count; j++)
        {
            var (a, b) = (boxes[i], boxes[j]);
            Assert.False(a.X < b.X + b.Width && b.X < a.X + a.Width && a.Y < b.Y + b.Height && b.Y < a.Y + a.Height,
                $"node {i} ({a.X},{a.Y} {a.Width}x{a.Height}) overlaps node {j} ({b.X},{b.Y} {b.Width}x{b.Height})");
        }
    }

    [SkippableFact]
    public async Task Image_save_node_shows_the_picture_it_wrote()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        await page.SelectOptionAsync("[data-input=model] select", "models/analytic-sd");
        await SetInputAsync(page, "prompt", "a green field");
        await SetInputAsync(page, "cfg", "1");
        await SetInputAsync(page, "steps", "2");
        await SetInputAsync(page, "width", "64");
        await SetInputAsync(page, "height", "64");
        Assert.Equal(0, await page.Locator(".fd-node[data-id=save] img.fd-node-output").CountAsync());

        await page.ClickAsync("#run");
        await page.WaitForSelectorAsync(".fd-run-status[data-outcome=done]", new PageWaitForSelectorOptions { Timeout = 120_000 });
        await page.WaitForSelectorAsync(".fd-node[data-id=save] img.fd-node-output");

        var mean = await MeanColourAsync(page, ".fd-node[data-id=save] img.fd-node-output");
        Assert.True(mean[1] > 0.8 && mean[0] < 0.2 && mean[2] < 0.2, $"the save node's picture has mean colour {string.Join(", ", mean)}, not green");
        Assert.Equal(0, await page.Locator(".fd-node[data-id=decode] img.fd-node-output").CountAsync());
    }

    [SkippableFact]
    public async Task Preview_image_node_shows_the_latent_preview_it_is_fed_on_the_canvas()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        // txt2img with ComfyUI's pattern: the sampler's latents through latent.preview into a Preview Image node.
        var yaml = (await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Workflows, "txt2img.yaml"))).Replace("\n  sample:\n", """

              look_latent:
                node: latent.preview
                in:
                  latent: sample.latent
              look:
                node: image.preview
                in:
                  images: look_latent.image
              sample:

            """.Replace("\r", ""), StringComparison.Ordinal);
        Assert.Contains("node: image.preview", yaml);
        await File.WriteAllTextAsync(Path.Combine(server.WorkflowsFolder, "previewed.yaml"), yaml);
        var page = await server.OpenAsync();
        await page.SelectOptionAsync("#open", "previewed");
        await page.WaitForSelectorAsync(".fd-node[data-id=look]");
        await page.WaitForTimeoutAsync(500);
        await page.SelectOptionAsync("[data-input=model] select", "models/analytic-sd");
        await SetInputAsync(page, "prompt", "a green field");
        await SetInputAsync(page, "cfg", "1");
        await SetInputAsync(page, "steps", "2");
        await SetInputAsync(page, "width", "64");
        await SetInputAsync(page, "height", "64");
        Assert.Equal(0, await page.Locator(".fd-node[data-id=look] img.fd-node-output").CountAsync());

        await page.ClickAsync("#run");
        await page.WaitForSelectorAsync(".fd-run-status[data-outcome=done]", new PageWaitForSelectorOptions { Timeout = 120_000 });
        await page.WaitForSelectorAsync(".fd-node[data-id=look] img.fd-node-output");
        Assert.Equal("preview_00001.png", await page.GetAttributeAsync(".fd-node[data-id=look] img.fd-node-output", "alt"));
        // The linear latent preview is upscaled to the image's size; the run lists it beside the saved image.
        var size = await page.EvaluateAsync<int[]>("async () => { const i = document.querySelector('.fd-node[data-id=look] img.fd-node-output'); await i.decode(); return [i.naturalWidth, i.naturalHeight]; }");
        Assert.Equal([64, 64], size);
        var run = await GetJsonAsync($"{server.Url}/api/runs/{await page.GetAttributeAsync(".fd-run-status", "data-run")}");
        var files = run.GetProperty("outputs").EnumerateArray().Select(o => o.GetProperty("url").GetString()!).ToList();
        Assert.Contains(files, f => f.EndsWith("/preview_00001.png", StringComparison.Ordinal));
        Assert.Equal(2, files.Count);
        await page.WaitForSelectorAsync(".fd-node[data-id=save] img.fd-node-output");
    }

    private static async Task ClickLinkAsync(IPage page, string toNode, string input)
    {
        var point = await LinkPointAsync(page, toNode, input);
        await page.Mouse.ClickAsync(point.X, point.Y);
    }

    // A point on the link's curve, in page coordinates, away from both ports.
    private static async Task<(float X, float Y)> LinkPointAsync(IPage page, string toNode, string input)
    {
        var point = await page.EvaluateAsync<float[]>("""
            ([n, p]) => {
              const path = document.querySelector(`path.fd-link-hit[data-to="${n}"][data-in-port="${p}"]`);
              const at = path.getPointAtLength(path.getTotalLength() * 0.5);
              const m = path.getScreenCTM();
              return [at.x * m.a + at.y * m.c + m.e, at.x * m.b + at.y * m.d + m.f];
            }
            """, new[] { toNode, input });
        return (point[0], point[1]);
    }
}
