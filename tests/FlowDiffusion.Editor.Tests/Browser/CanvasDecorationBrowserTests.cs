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
