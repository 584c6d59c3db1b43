using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Validation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// The engine as a host builds it, with the Stable Diffusion pack loaded from plugins/ like any third-party pack,
/// and a scratch output folder. Runs resolve relative paths against the repository root, as the CLI does there.
/// </summary>
internal sealed class SdEngine : IDisposable
{
    private static readonly Lazy<SdEngine> SharedEngine = new(() =>
    {
        var shared = new SdEngine();
        // Nothing disposes the shared engine: its outputs go when the test process ends.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => shared._outputs.Dispose();
        return shared;
    });
    private readonly TempFolder _outputs = new();

    /// <summary>An engine loading plugins/ and any further plugin folders.</summary>
    public SdEngine(params string[] morePluginFolders)
        : this(new FlowDiffusionOptions { PluginFolders = [RepositoryRoot.Plugins, .. morePluginFolders] })
    {
    }

    /// <summary>An engine loading plugins/ with these options.</summary>
    public SdEngine(FlowDiffusionOptions options) =>
        Engine = new FlowDiffusionEngine(Options.Create(options), new ServiceCollection().BuildServiceProvider());

    /// <summary>One engine for tests that only read results: its model sessions and cache are shared, which keeps them fast.</summary>
    public static SdEngine Shared => SharedEngine.Value;

    public FlowDiffusionEngine Engine { get; }

    public string OutputDirectory => _outputs.Path;

    public ValidationResult Load(string workflowFile, IReadOnlyDictionary<string, object?> inputs) =>
        Engine.Load(RepositoryRoot.Workflow(workflowFile), inputs);

    public ValidationResult Parse(string yaml, IReadOnlyDictionary<string, object?> inputs) =>
        Engine.Parse(yaml, "test.yaml", inputs);

    /// <summary>Runs a workflow file from workflows/ with inputs given as CLI --set text.</summary>
    public Task<SdRun> RunFileAsync(string workflowFile, IReadOnlyDictionary<string, object?> inputs) =>
        RunAsync(Load(workflowFile, inputs));

    /// <summary>Runs workflow YAML text.</summary>
    public Task<SdRun> RunYamlAsync(string yaml, IReadOnlyDictionary<string, object?> inputs) =>
        RunAsync(Parse(yaml, inputs));

    private async Task<SdRun> RunAsync(ValidationResult validation)
    {
        Assert.True(validation.IsValid, string.Join("\n", validation.Diagnostics));
        var run = Engine.Start(validation.Plan!, new RunOptions { OutputDirectory = OutputDirectory, WorkingDirectory = RepositoryRoot.Path, AnyInputPath = true });
        var events = new List<RunEvent>();
        await foreach (var e in run.ReadEventsAsync()) events.Add(e);
        return new SdRun(await run.Completion, events);
    }

    public void Dispose()
    {
        Engine.Dispose();
        _outputs.Dispose();
    }
}
