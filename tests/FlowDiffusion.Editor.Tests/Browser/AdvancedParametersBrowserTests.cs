using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;
using static FlowDiffusion.Editor.Tests.Browser.PageSteps;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>
/// Advanced parameters (guidance.cfg's nineteen patch settings) behind a node's "Advanced (N)" toggle, driven in Chromium:
/// closed they are hidden and a changed one is counted on the toggle; open the node grows and its links stay on its
/// ports; the open state is saved in the workflow's editor section; the node API says which parameters are advanced.
/// </summary>
[Collection(EditorBrowserCollection.Name)]
public sealed class AdvancedParametersBrowserTests(EditorServer server)
{
    private const string Guider = ".fd-node[data-id=guider]";
    private const string Toggle = Guider + " .fd-advanced-toggle";

    private static readonly string[] PatchSettings =
        ["rescale", "apg", "apg_eta", "apg_norm_threshold", "apg_momentum", "zero_star", "cfg_norm", "cfg_norm_strength", "pag_scale", "sag_scale", "sag_blur_sigma",
            "tcfg", "latent_operation", "latent_operation_multiplier", "latent_operation_sharpen_radius", "latent_operation_sigma", "latent_operation_alpha",
            "mahiro", "epsilon_scaling"];

    [SkippableFact]
    public async Task Guidance_cfg_shows_its_scale_and_a_toggle_that_opens_its_patch_settings_growing_the_node_with_its_links_on_their_ports()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");

        // Closed: the scale and the toggle, counting the nineteen hidden settings, none changed.
        Assert.Equal(["scale"], await RowsAsync(page));
        Assert.Equal("false", await page.GetAttributeAsync(Toggle, "data-open"));
        Assert.Equal("19", await page.GetAttributeAsync(Toggle, "data-count"));
        Assert.Equal("0", await page.GetAttributeAsync(Toggle, "data-changed"));
        Assert.Contains("Advanced (19)", await page.InnerTextAsync(Toggle));
        Assert.DoesNotContain("changed", await page.InnerTextAsync(Toggle));
        var closed = await HeightAsync(page);
        await AssertLinksOnPortsAsync(page);

        await page.ClickAsync(Toggle);
        await page.WaitForSelectorAsync(Guider + " [data-param-row=epsilon_scaling]");
        var rows = await RowsAsync(page);
        Assert.Equal(["scale", .. PatchSettings], rows);
        Assert.Equal("true", await page.GetAttributeAsync(Toggle, "data-open"));
        // Nineteen more widget rows (each at least 24 canvas units: the number widgets and check boxes are that tall).
        var open = await HeightAsync(page);
        Assert.True(open - closed >= 19 * 24, $"the node grew from {closed} to {open} only");
        await AssertLinksOnPortsAsync(page);

        // Drag the grown node: its links follow its ports (the canvas script redraws them) and still meet them after .NET re-renders.
        var header = await CentreAsync(page, Guider + " .fd-node-title");
        await page.Mouse.MoveAsync(header.X, header.Y);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(header.X + 40, header.Y + 70, new MouseMoveOptions { Steps = 6 });
        await AssertLinksOnPortsAsync(page);
        await page.Mouse.UpAsync();
        await page.WaitForTimeoutAsync(300);
        await AssertLinksOnPortsAsync(page);

        // Closing hides them again and gives the node back its height.
        await page.ClickAsync(Toggle);
        await WaitForCountAsync(page, Guider + " [data-param-row=rescale]", 0);
        Assert.Equal(closed, await HeightAsync(page), 1.0);
        await AssertLinksOnPortsAsync(page);
    }

    [SkippableFact]
    public async Task Long_parameter_names_are_shown_whole_in_a_name_column_as_wide_as_the_longest_up_to_its_cap_with_links_on_their_ports()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");

        // Closed, "scale" alone: the column keeps its 70 px minimum.
        var closed = await NameCellsAsync(page);
        Assert.Equal(70, Assert.Single(closed).Width, 0.5);

        await page.ClickAsync(Toggle);
        await page.WaitForSelectorAsync(Guider + " [data-param-row=epsilon_scaling]");
        var open = await NameCellsAsync(page);
        Assert.Equal(["scale", .. PatchSettings], open.Select(c => c.Row));
        foreach (var cell in open)
        {
            // The whole name, nothing clipped, inside the node and left of its widget, which keeps room to edit.
            Assert.Equal(cell.Row, cell.Text);
            Assert.True(cell.ScrollWidth <= cell.Width && cell.ScrollHeight <= cell.Height, $"{cell.Row}: {cell.ScrollWidth}×{cell.ScrollHeight} in {cell.Width}×{cell.Height}");
            Assert.True(cell.Left >= cell.NodeLeft && cell.Right <= cell.WidgetLeft + 0.5 && cell.WidgetRight <= cell.NodeRight + 0.5, cell.ToString());
            Assert.True(cell.WidgetWidth >= 90, $"{cell.Row}'s widget is {cell.WidgetWidth} px wide");
        }

        // One column for every row, at the 120 px cap: latent_operation_sharpen_radius is wider and wraps onto more lines.
        Assert.All(open, c => Assert.Equal(120, c.Width, 0.5));
        var longest = open.Single(c => c.Row == "latent_operation_sharpen_radius");
        var scale = open.Single(c => c.Row == "scale");
        Assert.True(longest.Height >= 2 * scale.Height, $"{longest.Height} vs one line {scale.Height}");
        await AssertLinksOnPortsAsync(page);
    }

    // Each parameter row of the guider: its name cell's text and sizes in CSS pixels (offset/scroll sizes, unaffected by the
    // canvas zoom), and the name's, widget's and node's edges on screen.
    private static async Task<List<NameCell>> NameCellsAsync(IPage page)
    {
        var cells = await page.EvaluateAsync<JsonElement>("""
            s => [...document.querySelectorAll(s + ' .fd-param')].map(row => {
              const name = row.querySelector('.fd-param-name'), widget = name.nextElementSibling;
              const r = name.getBoundingClientRect(), w = widget.getBoundingClientRect(), n = row.closest('.fd-node').getBoundingClientRect();
              return [row.dataset.paramRow, name.textContent, name.scrollWidth, name.scrollHeight, name.clientWidth, name.clientHeight,
                r.left, r.right, w.left, w.right, widget.offsetWidth, n.left, n.right];
            })
            """, Guider);
        return cells.EnumerateArray().Select(c => new NameCell(c[0].GetString()!, c[1].GetString()!, c[2].GetDouble(), c[3].GetDouble(), c[4].GetDouble(),
            c[5].GetDouble(), c[6].GetDouble(), c[7].GetDouble(), c[8].GetDouble(), c[9].GetDouble(), c[10].GetDouble(), c[11].GetDouble(), c[12].GetDouble())).ToList();
    }

    private sealed record NameCell(string Row, string Text, double ScrollWidth, double ScrollHeight, double Width, double Height,
        double Left, double Right, double WidgetLeft, double WidgetRight, double WidgetWidth, double NodeLeft, double NodeRight);

    [SkippableFact]
    public async Task A_changed_advanced_value_is_counted_on_the_closed_toggle_and_the_open_state_survives_save_and_reopen()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var page = await server.OpenAsync();
        await OpenSavedAsync(page, "txt2img");

        await page.ClickAsync(Toggle);
        var eta = page.Locator(Guider + " [data-param-row=apg_eta] input[type=number]");
        await eta.FillAsync("0.25");
        await eta.DispatchEventAsync("change");
        await page.WaitForFunctionAsync("s => document.querySelector(s).dataset.changed === '1'", Toggle);
        Assert.Equal(1, await page.Locator(Guider + " [data-param-row=apg_eta].fd-param-changed").CountAsync());
        Assert.Equal(0, await page.Locator(Guider + " [data-param-row=rescale].fd-param-changed").CountAsync());

        // Closed, the change is not hidden silently: the toggle is marked and counts it, and its tooltip names it.
        await page.ClickAsync(Toggle);
        await WaitForCountAsync(page, Guider + " [data-param-row=apg_eta]", 0);
        Assert.Equal(1, await page.Locator(Toggle + ".fd-advanced-changed").CountAsync());
        Assert.Contains("1 changed", await page.InnerTextAsync(Toggle));
        Assert.Contains("apg_eta", await page.GetAttributeAsync(Toggle, "title"));
        await ShootAsync(page, "editor-advanced-closed.png");

        // Saved closed: the value is in the file, no advanced flag.
        var yaml = await SaveAsync(page, "advanced-closed");
        Assert.Contains("apg_eta: 0.25", yaml);
        Assert.DoesNotContain("advanced:", yaml);

        // Saved open: the flag is in the editor section, and reopening shows the node open with the value.
        await page.ClickAsync(Toggle);
        await page.WaitForSelectorAsync(Guider + " [data-param-row=apg_eta]");
        yaml = await SaveAsync(page, "advanced-open");
        Assert.Contains("\n  advanced: [guider]\n", yaml);
        await ShootAsync(page, "editor-advanced-open.png");

        await page.ClickAsync("#new");
        await WaitForCountAsync(page, ".fd-node", 0);
        await page.SelectOptionAsync("#open", "advanced-open");
        await page.WaitForSelectorAsync(Guider + " [data-param-row=apg_eta]");
        Assert.Equal("true", await page.GetAttributeAsync(Toggle, "data-open"));
        Assert.Equal("0.25", await page.InputValueAsync(Guider + " [data-param-row=apg_eta] input[type=number]"));
        // The other nodes with advanced settings stay closed.
        Assert.Equal("false", await page.GetAttributeAsync(".fd-node[data-id=sample] .fd-advanced-toggle", "data-open"));

        await page.ClickAsync("#new");
        await WaitForCountAsync(page, ".fd-node", 0);
        await page.SelectOptionAsync("#open", "advanced-closed");
        await page.WaitForSelectorAsync(Toggle + ".fd-advanced-changed");
        Assert.Equal(["scale"], await RowsAsync(page));
        Assert.Equal("1", await page.GetAttributeAsync(Toggle, "data-changed"));
    }

    [SkippableFact]
    public async Task The_node_api_marks_the_advanced_parameters_and_leaves_the_flag_off_the_others()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var nodes = (await GetJsonAsync($"{server.Url}/api/nodes")).GetProperty("nodes").EnumerateArray().ToList();
        var cfg = nodes.Single(n => n.GetProperty("id").GetString() == "guidance.cfg");
        var flags = cfg.GetProperty("parameters").EnumerateArray()
            .ToDictionary(p => p.GetProperty("name").GetString()!, p => p.TryGetProperty("advanced", out var a) ? a.GetBoolean() : (bool?)null);

        Assert.Null(flags["scale"]);
        Assert.All(PatchSettings, name => Assert.True(flags[name], name));
        var sample = nodes.Single(n => n.GetProperty("id").GetString() == "diffusion.ksampler").GetProperty("parameters").EnumerateArray()
            .ToDictionary(p => p.GetProperty("name").GetString()!, p => p.TryGetProperty("advanced", out var a) && a.GetBoolean());
        Assert.False(sample["seed"]);
        Assert.False(sample["steps"]);
        Assert.True(sample["eta"]);
        Assert.True(sample["s_noise"]);
    }

    // The guider's parameter rows, in drawing order.
    private static async Task<string[]> RowsAsync(IPage page) =>
        await page.EvaluateAsync<string[]>("s => [...document.querySelectorAll(s + ' [data-param-row]')].map(r => r.dataset.paramRow)", Guider);

    // The guider's drawn height in canvas units.
    private static async Task<double> HeightAsync(IPage page) =>
        await page.EvaluateAsync<double>("s => document.querySelector(s).offsetHeight", Guider);

    // Every link into and out of the guider ends (starts) on the centre of its port as the browser lays the port out.
    private static async Task AssertLinksOnPortsAsync(IPage page)
    {
        var ends = await page.EvaluateAsync<JsonElement>("""
            () => {
              const centre = el => { const r = el.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; };
              const at = (p, l) => { const m = p.getPointAtLength(l).matrixTransform(p.getScreenCTM()); return [m.x, m.y]; };
              const node = document.querySelector('.fd-node[data-id=guider]');
              const into = [...document.querySelectorAll('path.fd-link[data-to=guider]')].map(p =>
                [p.dataset.inPort, ...at(p, p.getTotalLength()), ...centre(node.querySelector(`.fd-port.fd-in[data-port="${p.dataset.inPort}"]`))]);
              const out = [...document.querySelectorAll('path.fd-link[data-from=guider][data-segment="0"]')].map(p =>
                [p.dataset.outPort, ...at(p, 0), ...centre(node.querySelector(`.fd-port.fd-out[data-port="${p.dataset.outPort}"]`))]);
              return [...into, ...out];
            }
            """);
        // denoiser, positive, negative in; guider out to the sampler.
        Assert.True(ends.GetArrayLength() >= 4, $"only {ends.GetArrayLength()} links touch the guider");
        foreach (var end in ends.EnumerateArray())
        {
            var port = end[0].GetString();
            Assert.Equal(end[3].GetDouble(), end[1].GetDouble(), 2.5);
            Assert.Equal(end[4].GetDouble(), end[2].GetDouble(), 2.5);
            Assert.False(string.IsNullOrEmpty(port));
        }
    }

    // A picture of the guider and its neighbours at 100 % zoom: the wheel zooms at its title, a middle-button drag (which
    // pans over nodes too) brings it near the canvas's top left.
    private static async Task ShootAsync(IPage page, string file)
    {
        var zoom = double.Parse((await page.GetAttributeAsync(".fd-world", "data-zoom"))!, CultureInfo.InvariantCulture);
        var title = await CentreAsync(page, Guider + " .fd-node-title");
        if (Math.Abs(zoom - 1) > 0.01)
        {
            await page.Mouse.MoveAsync(title.X, title.Y);
            await page.Mouse.WheelAsync(0, (float)(Math.Log(zoom) / 0.0015));
            await page.WaitForTimeoutAsync(500);
        }
        var canvas = (await page.Locator(".fd-canvas").BoundingBoxAsync())!;
        var node = (await page.Locator(Guider).BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(node.X + 20, node.Y + 10);
        await page.Mouse.DownAsync(new MouseDownOptions { Button = MouseButton.Middle });
        await page.Mouse.MoveAsync(canvas.X + 220, canvas.Y + 70, new MouseMoveOptions { Steps = 5 });
        await page.Mouse.UpAsync(new MouseUpOptions { Button = MouseButton.Middle });
        await page.WaitForTimeoutAsync(500);
        node = (await page.Locator(Guider).BoundingBoxAsync())!;
        float x0 = Math.Max(canvas.X, node.X - 200), y0 = Math.Max(canvas.Y, node.Y - 50);
        float x1 = Math.Min(canvas.X + canvas.Width, node.X + node.Width + 200), y1 = Math.Min(canvas.Y + canvas.Height, node.Y + node.Height + 30);
        await page.ScreenshotAsync(new PageScreenshotOptions
        {
            Path = Path.Combine(EditorServer.Screenshots, file),
            Clip = new Clip { X = x0, Y = y0, Width = x1 - x0, Height = y1 - y0 },
        });
    }

    // Saves the document under `name` and returns the file's text.
    private async Task<string> SaveAsync(IPage page, string name)
    {
        await page.FillAsync("#save-name", name);
        await page.DispatchEventAsync("#save-name", "change");
        await page.ClickAsync("#save");
        await page.WaitForFunctionAsync("n => document.querySelector('#notice').textContent.includes('Saved') && document.querySelector('#notice').textContent.includes(n)", name);
        return (await File.ReadAllTextAsync(Path.Combine(server.WorkflowsFolder, name + ".yaml"))).Replace("\r\n", "\n");
    }
}
