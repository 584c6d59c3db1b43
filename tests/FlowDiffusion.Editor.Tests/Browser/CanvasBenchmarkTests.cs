using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>
/// Opt-in measurements (set FLOWDIFFUSION_EDITOR_BENCH=1) of the canvas in headless Chromium at 1280×800: page load to
/// interactive, opening the 200-node workflow until it is drawn, and frames per second while panning it. Figures go
/// to the test output; docs/benchmarks.md ("Editor") records them with the method.
/// </summary>
[Collection(EditorBrowserCollection.Name)]
public sealed class CanvasBenchmarkTests(EditorServer server, ITestOutputHelper output)
{
    public const string Switch = "FLOWDIFFUSION_EDITOR_BENCH";
    private const int Repeats = 5;

    [SkippableFact]
    public async Task Open_and_pan_a_200_node_workflow()
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        Skip.IfNot(Environment.GetEnvironmentVariable(Switch) == "1", $"Set {Switch}=1 to run the editor benchmark.");

        var load = new List<double>();
        var open = new List<double>();
        var select = new List<double>();
        var pans = new List<Pan>();
        var fittedPans = new List<Pan>();
        for (var i = 0; i < Repeats; i++)
        {
            var page = await server.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
            page.SetDefaultTimeout(60_000);
            var sent = new StrongBox<int>();
            page.WebSocket += (_, socket) => socket.FrameSent += (_, frame) =>
            {
                // SignalR keep-alive pings are a few bytes; any real message (an invocation) is larger.
                if ((frame.Binary?.Length ?? frame.Text?.Length ?? 0) > 8) Interlocked.Increment(ref sent.Value);
            };
            await page.GotoAsync(server.Url);
            await page.WaitForSelectorAsync(".fd-canvas[data-ready='1']");
            await page.WaitForSelectorAsync(".fd-node");
            // Navigation start to the canvas script attached over the default workflow (the page answers gestures from here).
            load.Add(await page.EvaluateAsync<double>("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))"));
            open.Add(await OpenBigAsync(page));
            for (var k = 0; k < 3; k++) select.Add(await BoxSelectAsync(page));
            pans.Add(await PanAsync(page, sent));
            // Fitted, every node is in view (zoom about 0.13): the most the compositor has to draw per frame.
            await page.ClickAsync("#fit");
            fittedPans.Add(await PanAsync(page, sent));
            await page.CloseAsync();
        }

        var fps = pans.Select(p => p.Fps).ToList();
        var worst = pans.Select(p => p.WorstFrameMs).ToList();
        var sentDuringPan = pans.Concat(fittedPans).Sum(p => p.Sent);
        var fittedFps = fittedPans.Select(p => p.Fps).ToList();
        var fittedWorst = fittedPans.Select(p => p.WorstFrameMs).ToList();
        output.WriteLine(Invariant($"page load to interactive (txt2img, 12 nodes): median {Median(load):0} ms, range {load.Min():0}–{load.Max():0} ms"));
        output.WriteLine(Invariant($"open 200-node workflow to drawn: median {Median(open):0} ms, range {open.Min():0}–{open.Max():0} ms"));
        output.WriteLine(Invariant($"box-select 2 of 200 nodes, release to selection drawn: median {Median(select):0} ms, range {select.Min():0}–{select.Max():0} ms"));
        output.WriteLine(Invariant($"pan 200 nodes: median {Median(fps):0.0} fps, range {fps.Min():0.0}–{fps.Max():0.0}; worst frame median {Median(worst):0.0} ms"));
        output.WriteLine(Invariant($"pan 200 nodes, all in view: median {Median(fittedFps):0.0} fps, range {fittedFps.Min():0.0}–{fittedFps.Max():0.0}; worst frame median {Median(fittedWorst):0.0} ms"));
        output.WriteLine(Invariant($"server messages during the pans: {sentDuringPan}"));
        Assert.Equal(0, sentDuringPan);
        Assert.All(fps.Concat(fittedFps), f => Assert.True(f > 0));
    }

    // From the Open menu's change to 200 nodes in the DOM and two frames painted after, timed inside the page.
    private static async Task<double> OpenBigAsync(IPage page) => await page.EvaluateAsync<double>("""
        () => new Promise(resolve => {
          const open = document.querySelector('#open');
          const start = performance.now();
          open.value = 'big';
          open.dispatchEvent(new Event('change', { bubbles: true }));
          const wait = () => document.querySelectorAll('.fd-node').length === 200 && document.title.includes('big')
            ? requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - start)))
            : requestAnimationFrame(wait);
          wait();
        })
        """);

    // Ctrl+drag a box around n0 and n1: the script sends the ids on release and the server's render marks them
    // selected (the script draws no selection of its own for a box). Timed from the release to both marked.
    private static async Task<double> BoxSelectAsync(IPage page)
    {
        var canvas = (await page.Locator(".fd-canvas").BoundingBoxAsync())!;
        // A click on empty canvas (between grid rows) clears the selection first.
        await page.Mouse.ClickAsync(canvas.X + 300, canvas.Y + 190);
        await page.WaitForFunctionAsync("() => document.querySelectorAll('.fd-node.fd-selected').length === 0");
        await page.EvaluateAsync("""
            () => {
              window.__selected = new Promise(resolve => {
                document.addEventListener('pointerup', () => {
                  const start = performance.now();
                  const wait = () => ['n0', 'n1'].every(id => document.querySelector(`.fd-node[data-id=${id}]`).classList.contains('fd-selected'))
                    ? resolve(performance.now() - start) : setTimeout(wait, 1);
                  wait();
                }, { capture: true, once: true });
              });
            }
            """);
        await page.Keyboard.DownAsync("Control");
        await page.Mouse.MoveAsync(canvas.X + 20, canvas.Y + 20);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(canvas.X + 600, canvas.Y + 160, new MouseMoveOptions { Steps = 5 });
        await page.Mouse.UpAsync();
        await page.Keyboard.UpAsync("Control");
        return await page.EvaluateAsync<double>("() => window.__selected");
    }

    // Pans (middle button) 720 px right and back in 8 px moves, counting painted frames and server messages meanwhile.
    private static async Task<Pan> PanAsync(IPage page, StrongBox<int> sent)
    {
        await page.WaitForTimeoutAsync(500);
        var canvas = (await page.Locator(".fd-canvas").BoundingBoxAsync())!;
        // The middle button pans wherever it is pressed, on a node or not.
        float x = canvas.X + 20, y = canvas.Y + canvas.Height / 2;
        await page.EvaluateAsync("""
            () => {
              window.__frames = [];
              window.__recording = true;
              const tick = t => { window.__frames.push(t); if (window.__recording) requestAnimationFrame(tick); };
              requestAnimationFrame(tick);
            }
            """);
        await page.Mouse.MoveAsync(x, y);
        var before = Volatile.Read(ref sent.Value);
        await page.Mouse.DownAsync(new MouseDownOptions { Button = MouseButton.Middle });
        for (var i = 1; i <= 180; i++) await page.Mouse.MoveAsync(x + (i <= 90 ? i : 180 - i) * 8, y);
        var during = Volatile.Read(ref sent.Value) - before;
        await page.Mouse.UpAsync(new MouseUpOptions { Button = MouseButton.Middle });
        var frames = await page.EvaluateAsync<JsonElement>("""
            () => {
              window.__recording = false;
              const f = window.__frames;
              const gaps = f.slice(1).map((t, i) => t - f[i]);
              return { fps: (f.length - 1) * 1000 / (f[f.length - 1] - f[0]), worstFrameMs: Math.max(...gaps), frames: f.length };
            }
            """);
        return new Pan(frames.GetProperty("fps").GetDouble(), frames.GetProperty("worstFrameMs").GetDouble(), during);
    }

    private sealed record Pan(double Fps, double WorstFrameMs, int Sent);

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
