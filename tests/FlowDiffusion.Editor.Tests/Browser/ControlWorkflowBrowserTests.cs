using FlowDiffusion.Tests.Shared;
using Microsoft.Playwright;
using static FlowDiffusion.Editor.Tests.Browser.PageSteps;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>
/// The control and resolution workflows from the editor: each shipped workflow opened from the Open list, its inputs set in
/// the inputs form (models picked from the models folder, images from the image picker), run with the Run button, and the
/// picture it shows on the save node and in the gallery checked as the CLI and API tests check theirs (ControlWorkflows).
/// Each test leaves a screenshot of the graph with its result on the save node, workflow-NAME.png (docs/workflows.md shows them; see
/// <see cref="EditorServer.Screenshots"/>). In the browser collection so no other browser test shares the machine with
/// its second editor process.
/// </summary>
[Collection(EditorBrowserCollection.Name)]
public sealed class ControlWorkflowBrowserTests(ControlWorkflowEditor editor) : IClassFixture<ControlWorkflowEditor>
{
    public static TheoryData<string> Workflows() => new(ControlWorkflows.Names);

    [SkippableTheory]
    [MemberData(nameof(Workflows))]
    public async Task A_shipped_workflow_opened_in_the_editor_runs_with_its_inputs_and_shows_the_expected_picture(string workflow)
    {
        Skip.IfNot(EditorServer.Available, "Chromium is not installed at /usr/bin/chromium");
        var run = editor.Workflows[workflow];
        var page = await editor.Server.OpenAsync();
        try
        {
            await OpenSavedAsync(page, workflow);
            foreach (var (name, value) in run.Inputs) await SetAsync(page, name, value);

            await page.ClickAsync("#run");
            await page.WaitForSelectorAsync(".fd-run-status[data-outcome=done], .fd-run-status[data-outcome=failed]", new PageWaitForSelectorOptions { Timeout = 180_000 });
            var outcome = await page.GetAttributeAsync(".fd-run-status", "data-outcome");
            Assert.True(outcome == "done", outcome + ": " + await page.Locator(".fd-run-error").AllInnerTextsAsync().ContinueWith(t => string.Join(" ", t.Result)));
            await page.WaitForSelectorAsync("img.fd-output");
            await page.WaitForSelectorAsync(".fd-node[data-id=save] img.fd-node-output");
            // The graph alone (the nodes' bounding box), which keeps the docs' pictures small.
            var graph = await page.EvaluateAsync<double[]>("""
                () => {
                  const boxes = [...document.querySelectorAll('.fd-node')].map(n => n.getBoundingClientRect());
                  return [Math.min(...boxes.map(b => b.left)), Math.min(...boxes.map(b => b.top)), Math.max(...boxes.map(b => b.right)), Math.max(...boxes.map(b => b.bottom))];
                }
                """);
            await page.ScreenshotAsync(new PageScreenshotOptions
            {
                Path = Path.Combine(EditorServer.Screenshots, $"workflow-{workflow}.png"),
                Clip = new Clip { X = (float)graph[0] - 6, Y = (float)graph[1] - 6, Width = (float)(graph[2] - graph[0]) + 12, Height = (float)(graph[3] - graph[1]) + 12 },
            });

            var size = await page.EvalOnSelectorAsync<int[]>("img.fd-output", "async i => { await i.decode(); return [i.naturalWidth, i.naturalHeight]; }");
            var picture = new Picture(size[0], size[1], await PixelsAsync(page, "img.fd-output"));
            run.Verify(picture);
            // The node shows the same picture the gallery does.
            Assert.Equal(picture.Planar, await PixelsAsync(page, ".fd-node[data-id=save] img.fd-node-output"));
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    // Text and number fields are filled; a select (a model or image picker, a choice) takes the option that is the value or,
    // for a file the fixture copied into the editor's folders, the one naming that file; a checkbox is ticked or not.
    private static async Task SetAsync(IPage page, string input, string value)
    {
        var field = page.Locator($"[data-input={input}] [data-param]").First;
        var kind = await field.EvaluateAsync<string>("e => e.tagName === 'SELECT' ? 'select' : e.type");
        if (kind == "select")
        {
            var options = await field.EvaluateAsync<string[]>("e => [...e.options].map(o => o.value)");
            var option = options.Contains(value) ? value : options.Single(o => o.EndsWith("/" + Path.GetFileName(value), StringComparison.Ordinal));
            await field.SelectOptionAsync(option);
            await page.WaitForFunctionAsync("([i, v]) => document.querySelector(`[data-input=${i}] [data-param]`).value === v", new[] { input, option });
        }
        else if (kind == "checkbox")
        {
            await field.SetCheckedAsync(value == "true");
            await page.WaitForFunctionAsync("([i, v]) => document.querySelector(`[data-input=${i}] [data-param]`).checked === (v === 'true')", new[] { input, value });
        }
        else
        {
            await SetInputAsync(page, input, value);
        }
    }
}

/// <summary>
/// One editor for the control workflows' browser tests: a models folder holding copies of the checkpoints and model folders
/// the cases pick, the cases' images copied into its workflows folder (the image picker lists that folder), and the cases'
/// other files readable (FlowDiffusion:InputFolders).
/// </summary>
public sealed class ControlWorkflowEditor : IAsyncLifetime
{
    private readonly TempFolder _home = new();

    public ControlWorkflows Workflows { get; } = new();

    public EditorServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!EditorServer.Available) return;
        var models = Path.Combine(_home.Path, "models");
        foreach (var model in Workflows.Cases.Select(c => c.Inputs.GetValueOrDefault("model")).OfType<string>().Distinct())
        {
            if (Directory.Exists(model)) CopyFolder(model, Path.Combine(models, Path.GetFileName(model)));
            else Copy(model, Path.Combine(models, "checkpoints", Path.GetFileName(model)));
        }
        Server = EditorServer.WithModelsAndInputs("editor-control-workflows", models, Workflows.InputFolders);
        await Server.InitializeAsync();
        foreach (var image in Workflows.Cases.SelectMany(c => c.Inputs.Values).Where(v => v.EndsWith(".png", StringComparison.Ordinal)).Distinct())
            Copy(image, Path.Combine(Server.WorkflowsFolder, "assets", Path.GetFileName(image)));
    }

    public async Task DisposeAsync()
    {
        if (Server is not null) await Server.DisposeAsync();
        Workflows.Dispose();
        _home.Dispose();
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        if (!File.Exists(to)) File.Copy(from, to);
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }
}
