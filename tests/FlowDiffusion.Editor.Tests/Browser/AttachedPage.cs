using System.Text.Json;
using Microsoft.Playwright;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>What the page showed while runs went on elsewhere: every node state class, every step of a node that counts steps (the sampler), whether a preview appeared.</summary>
internal static class AttachedPage
{
    /// <summary>Starts recording (a MutationObserver in the page) before the runs are queued.</summary>
    public static Task WatchAsync(IPage page) => page.EvaluateAsync("""
        () => {
          const seen = window.__seen = { states: [], steps: [], previews: 0 };
          const look = () => {
            document.querySelectorAll('.fd-node').forEach(n => n.classList.forEach(c => {
              const s = n.dataset.id + ':' + c;
              if (c.startsWith('fd-state-') && !seen.states.includes(s)) seen.states.push(s);
            }));
            const m = /step (\d+) \/ (\d+)/.exec(document.querySelector('.fd-run-status')?.textContent || '');
            if (m && +m[2] > 0) seen.steps.push([+m[1], +m[2]]);
            if (document.querySelector('.fd-node[data-id=sample] img.fd-preview')) seen.previews++;
          };
          new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
        }
        """);

    /// <summary>What was recorded.</summary>
    public static async Task<(IReadOnlyList<string> States, IReadOnlyList<(int Step, int Total)> Steps, int Previews)> SeenAsync(IPage page)
    {
        var seen = await page.EvaluateAsync<JsonElement>("() => window.__seen");
        return (seen.GetProperty("states").EnumerateArray().Select(e => e.GetString()!).ToList(),
            seen.GetProperty("steps").EnumerateArray().Select(e => (e[0].GetInt32(), e[1].GetInt32())).ToList(),
            seen.GetProperty("previews").GetInt32());
    }

    /// <summary>Sets the txt2img inputs for a small tiny-sd run.</summary>
    public static async Task TinyRunAsync(IPage page, int steps)
    {
        await PageSteps.OpenSavedAsync(page, "txt2img");
        await page.SelectOptionAsync("[data-input=model] select", "models/tiny-sd");
        await PageSteps.SetInputAsync(page, "steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await PageSteps.SetInputAsync(page, "width", "64");
        await PageSteps.SetInputAsync(page, "height", "64");
    }
}
