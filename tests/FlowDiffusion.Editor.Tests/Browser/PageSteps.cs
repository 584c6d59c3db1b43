using System.Text.Json;
using Microsoft.Playwright;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>What the browser tests do to the editor page: open a workflow, set an input, drag, wait, read pixels.</summary>
internal static class PageSteps
{
    public static async Task OpenSavedAsync(IPage page, string name)
    {
        await page.SelectOptionAsync("#open", name);
        await page.WaitForFunctionAsync("n => document.title.includes(n)", name);
        await page.WaitForSelectorAsync(".fd-node");
        // Opening fits the graph to the canvas (a render after the first); let it settle before measuring ports.
        await page.WaitForTimeoutAsync(500);
    }

    public static async Task SetInputAsync(IPage page, string input, string value)
    {
        var field = page.Locator($"[data-input={input}] input, [data-input={input}] textarea").First;
        await field.FillAsync(value);
        await field.DispatchEventAsync("change");
        await page.WaitForFunctionAsync("([i, v]) => { const f = document.querySelector(`[data-input=${i}] input, [data-input=${i}] textarea`); return f && f.value === v; }", new[] { input, value });
    }

    public static async Task DragAsync(IPage page, string from, string to)
    {
        var a = await CentreAsync(page, from);
        var b = await CentreAsync(page, to);
        await page.Mouse.MoveAsync(a.X, a.Y);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(b.X, b.Y, new MouseMoveOptions { Steps = 10 });
        await page.Mouse.UpAsync();
    }

    public static async Task<(float X, float Y)> CentreAsync(IPage page, string selector)
    {
        var locator = page.Locator(selector).First;
        var box = await locator.BoundingBoxAsync() ?? throw new InvalidOperationException($"{selector} is not visible");
        return (box.X + box.Width / 2, box.Y + box.Height / 2);
    }

    public static Task WaitForCountAsync(IPage page, string selector, int count) =>
        page.WaitForFunctionAsync("([s, n]) => document.querySelectorAll(s).length === n", new object[] { selector, count });

    /// <summary>Drops a file called <paramref name="name"/> holding <paramref name="bytes"/> on the canvas, as a file manager would.</summary>
    public static async Task DropAsync(IPage page, string name, byte[] bytes)
    {
        var transfer = await page.EvaluateHandleAsync("""
            ([b64, name]) => {
              const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
              const data = new DataTransfer();
              data.items.add(new File([bytes], name));
              return data;
            }
            """, new object[] { Convert.ToBase64String(bytes), name });
        await page.DispatchEventAsync(".fd-canvas", "drop", new Dictionary<string, object> { ["dataTransfer"] = transfer });
    }

    public static async Task<double[]> MeanColourAsync(IPage page, string selector)
    {
        var json = await page.EvaluateAsync<JsonElement>("""
            async s => {
              const img = document.querySelector(s);
              await img.decode();
              const c = document.createElement('canvas');
              c.width = img.naturalWidth; c.height = img.naturalHeight;
              const g = c.getContext('2d');
              g.drawImage(img, 0, 0);
              const d = g.getImageData(0, 0, c.width, c.height).data;
              const sum = [0, 0, 0];
              for (let i = 0; i < d.length; i += 4) { sum[0] += d[i]; sum[1] += d[i + 1]; sum[2] += d[i + 2]; }
              const n = d.length / 4 * 255;
              return sum.map(v => v / n);
            }
            """, selector);
        return json.EnumerateArray().Select(e => e.GetDouble()).ToArray();
    }

    /// <summary>The JSON an API GET answers with.</summary>
    public static async Task<JsonElement> GetJsonAsync(string url)
    {
        using var http = new HttpClient();
        return JsonDocument.Parse(await http.GetStringAsync(url)).RootElement.Clone();
    }

    /// <summary>The text chunk <paramref name="keyword"/> of the PNG an img element shows, read with the editor's own script.</summary>
    public static Task<string?> PngTextOfAsync(IPage page, string selector, string keyword) =>
        page.EvaluateAsync<string?>("""
            async ([s, k]) => {
              const bytes = new Uint8Array(await (await fetch(document.querySelector(s).src)).arrayBuffer());
              const module = await import('./js/canvas.js');
              return module.pngText(bytes, k);
            }
            """, new[] { selector, keyword });

    /// <summary>The text chunk <paramref name="keyword"/> of the PNG at <paramref name="url"/> (an API output URL), read with the editor's own script.</summary>
    public static Task<string?> PngTextAtAsync(IPage page, string url, string keyword) =>
        page.EvaluateAsync<string?>("""
            async ([u, k]) => {
              const bytes = new Uint8Array(await (await fetch(u)).arrayBuffer());
              const module = await import('./js/canvas.js');
              return module.pngText(bytes, k);
            }
            """, new[] { url, keyword });

    /// <summary>The pixels of the image <paramref name="selector"/> shows, as planar RGB in 0..1 (the graph's layout).</summary>
    public static async Task<float[]> PixelsAsync(IPage page, string selector)
    {
        var json = await page.EvaluateAsync<JsonElement>("""
            async s => {
              const img = document.querySelector(s);
              await img.decode();
              const c = document.createElement('canvas');
              c.width = img.naturalWidth; c.height = img.naturalHeight;
              const g = c.getContext('2d');
              g.drawImage(img, 0, 0);
              const d = g.getImageData(0, 0, c.width, c.height).data;
              const n = c.width * c.height, out = new Array(3 * n);
              for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) out[k * n + i] = d[4 * i + k] / 255;
              return out;
            }
            """, selector);
        return [.. json.EnumerateArray().Select(e => (float)e.GetDouble())];
    }
}
