using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;
using static FlowDiffusion.Editor.Tests.Browser.PageSteps;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>Groups, reroutes, collapse, pin, colours and the minimap, driven in Chromium as a user would.</summary>
[Collection(EditorBrowserCollection.Name)]
public sealed class CanvasDecorationBrowserTests(EditorServer server)
{
    [SkippableFact]
    public async Task Group_made_from_the_selection_drags_its_nodes_and_removing_it_keeps_them()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        page.Dialog += async (_, dialog) => await dialog.AcceptAsync(dialog.Type == "prompt" ? "Output" : null);
        await page.ClickAsync(".fd-node[data-id=decode] .fd-node-header");
        await page.ClickAsync(".fd-node[data-id=save] .fd-node-header", new PageClickOptions { Modifiers = [KeyboardModifier.Control] });
        await WaitForCountAsync(page, ".fd-node.fd-selected", 2);

        await page.ClickAsync(".fd-node[data-id=save] .fd-node-header", new PageClickOptions { Button = MouseButton.Right });
        await page.ClickAsync("#context-menu [data-action=group]");
        await WaitForCountAsync(page, ".fd-group", 1);
        var before = await PositionsAsync(page, "decode", "save", "model");
        var zoom = await ZoomAsync(page);

        var title = await CentreAsync(page, ".fd-group-title");
        await page.Mouse.MoveAsync(title.X, title.Y);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(title.X + 90, title.Y + 60, new MouseMoveOptions { Steps = 8 });
        await page.Mouse.UpAsync();
        await page.WaitForFunctionAsync("x => parseFloat(document.querySelector('.fd-node[data-id=decode]').style.left) !== x", before["decode"].X);
        await page.WaitForTimeoutAsync(300);

        var after = await PositionsAsync(page, "decode", "save", "model");
        foreach (var id in new[] { "decode", "save" })
        {
            Assert.Equal(before[id].X + 90 / zoom, after[id].X, 1.0);
            Assert.Equal(before[id].Y + 60 / zoom, after[id].Y, 1.0);
        }
        Assert.Equal(before["model"], after["model"]);

        // Rename from the group's menu, then remove the group: the nodes stay where the drag left them.
        await page.ClickAsync(".fd-group-title", new PageClickOptions { Button = MouseButton.Right });
        await page.ClickAsync("#context-menu[data-kind=group] [data-action=rename-group]");
        await page.WaitForFunctionAsync("() => document.querySelector('.fd-group-title').textContent === 'Output'");
        await page.ClickAsync(".fd-group-title", new PageClickOptions { Button = MouseButton.Right });
        await page.ClickAsync("#context-menu[data-kind=group] [data-action=delete-group]");
        await WaitForCountAsync(page, ".fd-group", 0);
        Assert.Equal(after, await PositionsAsync(page, "decode", "save", "model"));
        await page.ClickAsync("#undo");
        await WaitForCountAsync(page, ".fd-group", 1);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(EditorServer.Screenshots, "editor-group.png") });
    }

    [SkippableFact]
    public async Task Reroute_on_a_link_bends_it_and_the_run_makes_the_same_image()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        await page.SelectOptionAsync("[data-input=model] select", "models/analytic-sd");
        await SetInputAsync(page, "prompt", "a green ball");
        await SetInputAsync(page, "cfg", "1");
        await SetInputAsync(page, "steps", "2");
        await SetInputAsync(page, "width", "64");
        await SetInputAsync(page, "height", "64");
        var direct = await RunImageAsync(page, null);

        // A double click on the link puts a reroute there: the link is drawn in two stretches through the dot.
        var link = "path.fd-link-hit[data-to=decode][data-in-port=latent]";
        var point = await page.EvaluateAsync<JsonElement>("""
            s => { const p = document.querySelector(s); const l = p.getTotalLength(); const m = p.getPointAtLength(l / 2).matrixTransform(p.getScreenCTM()); return [m.x, m.y]; }
            """, link);
        await page.Mouse.DblClickAsync(point[0].GetSingle(), point[1].GetSingle());
        await WaitForCountAsync(page, ".fd-reroute", 1);
        await WaitForCountAsync(page, "path.fd-link[data-to=decode][data-in-port=latent]", 2);
        var rerouted = await RunImageAsync(page, direct.RunId);

        Assert.Contains("routes:", rerouted.Yaml);
        Assert.Contains("decode.latent: [r1]", rerouted.Yaml);
        Assert.Equal(direct.Nodes, rerouted.Nodes);
        Assert.Equal(direct.Pixels, rerouted.Pixels);
    }

    [SkippableFact]
    public async Task Collapse_pin_and_colour_survive_save_and_reopen_and_a_pinned_node_does_not_move()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        await MenuAsync(page, "model", "collapse");
        await page.WaitForSelectorAsync(".fd-node[data-id=model].fd-collapsed");
        await MenuAsync(page, "positive", "pin");
        await page.WaitForSelectorAsync(".fd-node[data-id=positive].fd-pinned");
        await MenuAsync(page, "negative", "color-red");
        await page.WaitForFunctionAsync("() => getComputedStyle(document.querySelector('.fd-node[data-id=negative] .fd-node-header')).backgroundColor === 'rgb(51, 34, 34)'");
        // A collapsed node is its title bar; its links still reach it.
        Assert.InRange((await page.Locator(".fd-node[data-id=model]").BoundingBoxAsync())!.Height / await ZoomAsync(page), 30, 34);
        Assert.True(await page.Locator("path.fd-link[data-from=model]").CountAsync() > 0);

        var pinned = await PositionsAsync(page, "positive");
        var header = await CentreAsync(page, ".fd-node[data-id=positive] .fd-node-title");
        await page.Mouse.MoveAsync(header.X, header.Y);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(header.X + 120, header.Y + 80, new MouseMoveOptions { Steps = 8 });
        await page.Mouse.UpAsync();
        await page.WaitForTimeoutAsync(300);
        Assert.Equal(pinned, await PositionsAsync(page, "positive"));

        await page.FillAsync("#save-name", "decorated");
        await page.DispatchEventAsync("#save-name", "change");
        await page.ClickAsync("#save");
        await page.WaitForFunctionAsync("() => document.querySelector('#notice').textContent.includes('Saved')");
        var yaml = await File.ReadAllTextAsync(Path.Combine(server.WorkflowsFolder, "decorated.yaml"));
        Assert.Contains("  collapsed: [model]\n", yaml);
        Assert.Contains("  pinned: [positive]\n", yaml);
        Assert.Contains("negative: {title: \"#322\", body: \"#533\"}", yaml);

        await page.ClickAsync("#new");
        await WaitForCountAsync(page, ".fd-node", 0);
        // The file keeps the workflow's own name (txt2img), so wait for its nodes rather than the page title.
        await page.SelectOptionAsync("#open", "decorated");
        await page.WaitForSelectorAsync(".fd-node[data-id=model].fd-collapsed");
        await page.WaitForSelectorAsync(".fd-node[data-id=positive].fd-pinned");
        Assert.Equal("rgb(51, 34, 34)", await page.EvaluateAsync<string>("() => getComputedStyle(document.querySelector('.fd-node[data-id=negative] .fd-node-header')).backgroundColor"));
        Assert.Equal(0, await page.Locator(".fd-node[data-id=negative].fd-collapsed").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(EditorServer.Screenshots, "editor-collapse-pin-colour.png") });
    }

    [SkippableFact]
    public async Task Minimap_click_centres_the_view_on_the_point_clicked()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        await page.WaitForFunctionAsync("() => document.querySelector('.fd-minimap').dataset.scale");
        var target = await PositionsAsync(page, "save");
        var map = await page.EvaluateAsync<JsonElement>("""
            () => { const m = document.querySelector('.fd-minimap'); const r = m.getBoundingClientRect(); const d = m.dataset;
                    return [r.left, r.top, +d.x0, +d.y0, +d.scale, +d.ox, +d.oy]; }
            """);
        var v = map.EnumerateArray().Select(e => e.GetDouble()).ToArray();
        // The save node's title bar, as the minimap draws it.
        double cx = target["save"].X + 120, cy = target["save"].Y + 15;
        var px = v[0] + v[5] + (cx - v[2]) * v[4];
        var py = v[1] + v[6] + (cy - v[3]) * v[4];
        var x0 = await page.GetAttributeAsync(".fd-world", "data-x");

        await page.Mouse.ClickAsync((float)px, (float)py);
        await page.WaitForFunctionAsync("x => document.querySelector('.fd-world').dataset.x !== x", x0);

        var canvas = (await page.Locator(".fd-canvas").BoundingBoxAsync())!;
        var title = await CentreAsync(page, ".fd-node[data-id=save] .fd-node-header");
        // One minimap pixel is 1/scale canvas units; the click lands within one pixel of the title bar's centre.
        var tolerance = (1.5 / v[4]) * await ZoomAsync(page) + 2;
        Assert.InRange(title.X, canvas.X + canvas.Width / 2 - tolerance, canvas.X + canvas.Width / 2 + tolerance);
        Assert.InRange(title.Y, canvas.Y + canvas.Height / 2 - tolerance, canvas.Y + canvas.Height / 2 + tolerance);
    }

    [SkippableFact]
    public async Task Collapsed_node_shrinks_to_its_title_and_its_links_stay_on_its_edge_while_dragged()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        await MenuAsync(page, "model", "collapse");
        await page.WaitForSelectorAsync(".fd-node[data-id=model].fd-collapsed");
        var zoom = await ZoomAsync(page);
        var title = await page.TextContentAsync(".fd-node[data-id=model] .fd-node-title");
        var box = (await page.Locator(".fd-node[data-id=model]").BoundingBoxAsync())!;
        // As wide as its title (NodeLayout.CollapsedWidth), not a full node, and only its title bar high.
        Assert.Equal(FlowDiffusion.Editor.Graph.NodeLayout.CollapsedWidth(title!), box.Width / zoom, 0.5);
        Assert.True(box.Width / zoom < FlowDiffusion.Editor.Graph.NodeLayout.Width - 60, $"collapsed width {box.Width / zoom}");
        Assert.InRange(box.Height / zoom, 30, 34);
        await AssertLinksLeaveRightEdgeAsync(page, "model", box);

        // While the collapsed node is dragged the script redraws its links from the narrowed edge; after the drop .NET does.
        var header = await CentreAsync(page, ".fd-node[data-id=model] .fd-node-header");
        await page.Mouse.MoveAsync(header.X, header.Y);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(header.X + 70, header.Y + 120, new MouseMoveOptions { Steps = 8 });
        await AssertLinksLeaveRightEdgeAsync(page, "model", (await page.Locator(".fd-node[data-id=model]").BoundingBoxAsync())!);
        await page.Mouse.UpAsync();
        await page.WaitForTimeoutAsync(300);
        var moved = (await page.Locator(".fd-node[data-id=model]").BoundingBoxAsync())!;
        Assert.Equal(box.X + 70, moved.X, 1.5);
        await AssertLinksLeaveRightEdgeAsync(page, "model", moved);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(EditorServer.Screenshots, "editor-collapsed.png") });

        await MenuAsync(page, "model", "collapse");
        await WaitForCountAsync(page, ".fd-node.fd-collapsed", 0);
        Assert.Equal(FlowDiffusion.Editor.Graph.NodeLayout.Width, (await page.Locator(".fd-node[data-id=model]").BoundingBoxAsync())!.Width / zoom, 0.5);
    }

    [SkippableFact]
    public async Task Minimap_toggle_hides_and_shows_it_and_the_browser_remembers_the_choice()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        var minimap = page.Locator("#minimap");
        Assert.True(await minimap.IsVisibleAsync());
        var selected = await page.Locator(".fd-node.fd-selected").CountAsync();

        await page.ClickAsync("#minimap-toggle");
        await page.WaitForSelectorAsync("#minimap", new PageWaitForSelectorOptions { State = WaitForSelectorState.Hidden });
        Assert.Equal("hidden", await page.EvaluateAsync<string?>("() => localStorage.getItem('flowdiffusion.minimap')"));
        // The toggle is no click on the canvas: no search opened, the selection kept.
        Assert.Equal(0, await page.Locator(".fd-overlay").CountAsync());
        Assert.Equal(selected, await page.Locator(".fd-node.fd-selected").CountAsync());

        // A reload in the same browser keeps it hidden.
        await page.ReloadAsync();
        await page.WaitForSelectorAsync(".fd-canvas[data-ready='1']");
        await page.WaitForSelectorAsync("#minimap-toggle.fd-minimap-off");
        Assert.False(await minimap.IsVisibleAsync());

        // Shown again, it is drawn again (its mapping is on the element once drawn), and remembered so.
        await page.ClickAsync("#minimap-toggle");
        await page.WaitForSelectorAsync("#minimap", new PageWaitForSelectorOptions { State = WaitForSelectorState.Visible });
        await page.WaitForFunctionAsync("() => { const m = document.querySelector('#minimap'); return m.width > 0 && +m.dataset.scale > 0; }");
        Assert.Equal("shown", await page.EvaluateAsync<string?>("() => localStorage.getItem('flowdiffusion.minimap')"));
        await page.ReloadAsync();
        await page.WaitForSelectorAsync(".fd-canvas[data-ready='1']");
        await page.WaitForTimeoutAsync(300);
        Assert.True(await minimap.IsVisibleAsync());

        // Another browser (a fresh context: its own localStorage) starts with the minimap shown.
        await page.ClickAsync("#minimap-toggle");
        await page.WaitForSelectorAsync("#minimap", new PageWaitForSelectorOptions { State = WaitForSelectorState.Hidden });
        var other = await server.OpenAsync();
        await other.WaitForTimeoutAsync(300);
        Assert.True(await other.Locator("#minimap").IsVisibleAsync());
    }

    [SkippableFact]
    public async Task Group_resized_by_its_corner_keeps_its_nodes_saves_its_size_and_undo_restores_it()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        await page.ClickAsync(".fd-node[data-id=decode] .fd-node-header");
        await page.ClickAsync(".fd-node[data-id=save] .fd-node-header", new PageClickOptions { Modifiers = [KeyboardModifier.Control] });
        await WaitForCountAsync(page, ".fd-node.fd-selected", 2);
        await page.Keyboard.PressAsync("Control+g");
        await WaitForCountAsync(page, ".fd-group", 1);
        var zoom = await ZoomAsync(page);
        var before = await GroupBoxAsync(page);
        var nodes = await PositionsAsync(page, "decode", "save", "model");

        var corner = await CentreAsync(page, ".fd-group-resize");
        await page.Mouse.MoveAsync(corner.X, corner.Y);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(corner.X + 60, corner.Y + 90, new MouseMoveOptions { Steps = 8 });
        await page.Mouse.UpAsync();
        // .NET rounds the new size and re-renders; wait until undo would undo the resize (the group's box changed in the file).
        await page.WaitForFunctionAsync("w => parseFloat(document.querySelector('.fd-group').style.width) !== w", before[2]);
        await page.WaitForTimeoutAsync(300);
        var after = await GroupBoxAsync(page);
        Assert.Equal(before[0], after[0]);
        Assert.Equal(before[1], after[1]);
        Assert.Equal(Math.Round(before[2] + 60 / zoom), after[2], 1.0);
        Assert.Equal(Math.Round(before[3] + 90 / zoom), after[3], 1.0);
        // Resizing moves no node, and the nodes it was drawn around are still its members.
        Assert.Equal(nodes, await PositionsAsync(page, "decode", "save", "model"));
        await page.ClickAsync(".fd-group-title", new PageClickOptions { Button = MouseButton.Right });
        await page.ClickAsync("#context-menu[data-kind=group] [data-action=select-group]");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('.fd-node.fd-selected').length >= 2");
        var members = await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('.fd-node.fd-selected')].map(n => n.dataset.id)");
        Assert.Contains("decode", members);
        Assert.Contains("save", members);
        Assert.DoesNotContain("model", members);

        var saved = Assert.Single((await SaveAndReadAsync(page, "resized")).Editor!.Groups!);
        Assert.Equal((after[0], after[1], after[2], after[3]), (saved.X, saved.Y, saved.Width, saved.Height));

        await page.ClickAsync("#undo");
        await page.WaitForFunctionAsync("w => parseFloat(document.querySelector('.fd-group').style.width) === w", before[2]);
        Assert.Equal(before, await GroupBoxAsync(page));
    }

    [SkippableFact]
    public async Task Reroute_point_dragged_moves_its_link_is_saved_there_and_undo_puts_it_back()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");
        var link = "path.fd-link-hit[data-to=decode][data-in-port=latent]";
        var point = await page.EvaluateAsync<JsonElement>("""
            s => { const p = document.querySelector(s); const l = p.getTotalLength(); const m = p.getPointAtLength(l / 2).matrixTransform(p.getScreenCTM()); return [m.x, m.y]; }
            """, link);
        await page.Mouse.DblClickAsync(point[0].GetSingle(), point[1].GetSingle());
        await WaitForCountAsync(page, ".fd-reroute", 1);
        var zoom = await ZoomAsync(page);
        var start = await ReroutePointAsync(page);
        await AssertLinkPassesRerouteAsync(page, start);

        var dot = await CentreAsync(page, ".fd-reroute");
        await page.Mouse.MoveAsync(dot.X, dot.Y);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(dot.X + 80, dot.Y - 110, new MouseMoveOptions { Steps = 8 });
        await page.Mouse.UpAsync();
        await page.WaitForFunctionAsync("x => parseFloat(document.querySelector('.fd-reroute').style.left) !== x", start.X);
        await page.WaitForTimeoutAsync(300);
        var moved = await ReroutePointAsync(page);
        Assert.Equal(start.X + 80 / zoom, moved.X, 1.0);
        Assert.Equal(start.Y - 110 / zoom, moved.Y, 1.0);
        // The link still runs from the sampler through the moved point into decode's latent input.
        await AssertLinkPassesRerouteAsync(page, moved);

        var saved = (await SaveAndReadAsync(page, "rerouted")).Editor!;
        Assert.Equal(new FlowDiffusion.Engine.Workflows.NodePosition(moved.X, moved.Y), saved.RerouteAt("r1"));
        Assert.Equal(["r1"], saved.RouteOf("decode", "latent"));

        await page.ClickAsync("#undo");
        await page.WaitForFunctionAsync("x => parseFloat(document.querySelector('.fd-reroute').style.left) === x", start.X);
        Assert.Equal(start, await ReroutePointAsync(page));
        await AssertLinkPassesRerouteAsync(page, start);
    }

    // The reroute point's centre in canvas units (its style position).
    private static async Task<(double X, double Y)> ReroutePointAsync(IPage page)
    {
        var p = await page.EvaluateAsync<double[]>("() => { const r = document.querySelector('.fd-reroute'); return [parseFloat(r.style.left), parseFloat(r.style.top)]; }");
        return (p[0], p[1]);
    }

    // The link into decode.latent is drawn in two stretches that meet at the reroute point (canvas units, from the paths'
    // own geometry) and its last stretch ends on decode's latent port as the browser lays it out (screen pixels).
    private static async Task AssertLinkPassesRerouteAsync(IPage page, (double X, double Y) reroute)
    {
        var ends = await page.EvaluateAsync<double[]>("""
            () => {
              const seg = i => document.querySelector(`path.fd-link[data-to=decode][data-in-port=latent][data-segment="${i}"]`);
              const a = seg(0), b = seg(1);
              const aEnd = a.getPointAtLength(a.getTotalLength()), bStart = b.getPointAtLength(0);
              const bEnd = b.getPointAtLength(b.getTotalLength()).matrixTransform(b.getScreenCTM());
              const port = document.querySelector('.fd-node[data-id=decode] .fd-port[data-port=latent]').getBoundingClientRect();
              return [aEnd.x, aEnd.y, bStart.x, bStart.y, bEnd.x, bEnd.y, port.left + port.width / 2, port.top + port.height / 2];
            }
            """);
        Assert.Equal(reroute.X, ends[0], 0.5);
        Assert.Equal(reroute.Y, ends[1], 0.5);
        Assert.Equal(reroute.X, ends[2], 0.5);
        Assert.Equal(reroute.Y, ends[3], 0.5);
        Assert.Equal(ends[6], ends[4], 3.0);
        Assert.Equal(ends[7], ends[5], 3.0);
    }

    // Every link out of the node starts at its right edge, half way down its (collapsed) title bar, in screen pixels.
    private static async Task AssertLinksLeaveRightEdgeAsync(IPage page, string node, LocatorBoundingBoxResult box)
    {
        var starts = await page.EvaluateAsync<double[][]>("""
            id => [...document.querySelectorAll(`path.fd-link[data-from=${id}][data-segment="0"]`)]
                  .map(p => { const m = p.getPointAtLength(0).matrixTransform(p.getScreenCTM()); return [m.x, m.y]; })
            """, node);
        Assert.NotEmpty(starts);
        foreach (var start in starts)
        {
            Assert.Equal(box.X + box.Width, start[0], 1.5);
            Assert.Equal(box.Y + box.Height / 2, start[1], 2.0);
        }
    }

    private static async Task<double[]> GroupBoxAsync(IPage page) =>
        await page.EvaluateAsync<double[]>("() => { const g = document.querySelector('.fd-group').style; return [g.left, g.top, g.width, g.height].map(parseFloat); }");

    // Saves the document under `name` in the server's workflows folder and reads the file back.
    private async Task<FlowDiffusion.Engine.Workflows.Workflow> SaveAndReadAsync(IPage page, string name)
    {
        await page.FillAsync("#save-name", name);
        await page.DispatchEventAsync("#save-name", "change");
        await page.ClickAsync("#save");
        await page.WaitForFunctionAsync("n => document.querySelector('#notice').textContent.includes('Saved') && document.querySelector('#notice').textContent.includes(n)", name);
        return Graph.WorkflowRoundTripTests.Read(await File.ReadAllTextAsync(Path.Combine(server.WorkflowsFolder, name + ".yaml")));
    }

    private static async Task MenuAsync(IPage page, string node, string action)
    {
        await page.ClickAsync($".fd-node[data-id={node}] .fd-node-header", new PageClickOptions { Button = MouseButton.Right });
        await page.ClickAsync($"#context-menu[data-kind=node] [data-action={action}]");
    }

    private static async Task<double> ZoomAsync(IPage page) =>
        double.Parse((await page.GetAttributeAsync(".fd-world", "data-zoom"))!, CultureInfo.InvariantCulture);

    private static async Task<Dictionary<string, (double X, double Y)>> PositionsAsync(IPage page, params string[] ids)
    {
        var json = await page.EvaluateAsync<JsonElement>("""
            ids => ids.map(id => { const n = document.querySelector(`.fd-node[data-id=${id}]`); return [parseFloat(n.style.left), parseFloat(n.style.top)]; })
            """, ids);
        return ids.Select((id, i) => (id, p: json[i])).ToDictionary(x => x.id, x => (x.p[0].GetDouble(), x.p[1].GetDouble()));
    }

    // Runs the graph on the page and returns the run's id, the YAML it ran (from the PNG), its node ids and the image's pixel data
    // (the PNG's IDAT bytes: the file's text chunks carry the workflow, editor section included).
    private async Task<(string RunId, string Yaml, string Nodes, byte[] Pixels)> RunImageAsync(IPage page, string? previous)
    {
        await page.ClickAsync("#run");
        await page.WaitForFunctionAsync("p => { const s = document.querySelector('.fd-run-status'); return s && s.dataset.run !== p && s.dataset.outcome === 'done'; }",
            previous ?? "", new PageWaitForFunctionOptions { Timeout = 120_000 });
        var id = (await page.GetAttributeAsync(".fd-run-status", "data-run"))!;
        var run = await GetJsonAsync($"{server.Url}/api/runs/{id}");
        Assert.Equal("completed", run.GetProperty("status").GetString());
        var nodes = string.Join(",", run.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("node").GetString()).Order(StringComparer.Ordinal));
        var url = server.Url + run.GetProperty("outputs")[0].GetProperty("url").GetString();
        using var http = new HttpClient();
        var png = await http.GetByteArrayAsync(url);
        var yaml = await PngTextAtAsync(page, url, "flowdiffusion.workflow") ?? "";
        return (id, yaml, nodes, Idat(png));
    }

    private static byte[] Idat(byte[] png)
    {
        var data = new List<byte>();
        for (var at = 8; at + 12 <= png.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at));
            if (png.AsSpan(at + 4, 4).SequenceEqual("IDAT"u8)) data.AddRange(png.AsSpan(at + 8, length).ToArray());
            at += 12 + length;
        }
        Assert.NotEmpty(data);
        return [.. data];
    }
}
