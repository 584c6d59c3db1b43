using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Plugins.Tests;

/// <summary>An engine as a host builds it, over plugin roots the test fills, with scratch output.</summary>
internal sealed class TestHost : IDisposable
{
    public TestHost(params string[] pluginFolders)
        : this(unloadPluginBuilds: false, pluginFolders)
    {
    }

    /// <param name="unloadPluginBuilds">FlowDiffusion:UnloadPluginBuilds (collectible plugin contexts).</param>
    /// <param name="pluginFolders">The plugin roots.</param>
    public TestHost(bool unloadPluginBuilds, params string[] pluginFolders)
    {
        OutputDirectory = Scratch.NewFolder("outputs");
        var options = Options.Create(new FlowDiffusionOptions { PluginFolders = [.. pluginFolders], CancellationGraceSeconds = 1, UnloadPluginBuilds = unloadPluginBuilds });
        Engine = new FlowDiffusionEngine(options, new ServiceCollection().BuildServiceProvider());
    }

    public FlowDiffusionEngine Engine { get; }

    public string OutputDirectory { get; }

    /// <summary>A plugin root holding copies of build outputs, each in its own folder.</summary>
    public static string RootWith(params (string Name, string BuildOutput)[] plugins)
    {
        var root = Scratch.NewFolder("plugins");
        foreach (var (name, output) in plugins) Scratch.CopyTree(output, Path.Combine(root, name));
        return root;
    }

    /// <summary>Validates YAML against the current catalog and starts it.</summary>
    public WorkflowRun Start(string yaml, IReadOnlyDictionary<string, object?>? inputs = null)
    {
        var validation = Engine.Parse(yaml, "test.yaml", inputs);
        Assert.True(validation.IsValid, string.Join("\n", validation.Diagnostics));
        return Engine.Start(validation.Plan!, new RunOptions { OutputDirectory = OutputDirectory, WorkingDirectory = RepositoryRoot.Path });
    }

    public async Task<RunResult> RunAsync(string yaml, IReadOnlyDictionary<string, object?>? inputs = null)
    {
        var run = Start(yaml, inputs);
        await foreach (var _ in run.ReadEventsAsync()) { }
        return await run.Completion;
    }

    public static RunResult Completed(RunResult result)
    {
        Assert.True(result.Status == RunStatus.Completed, $"run {result.Status}: {result.FailedNode}: {result.Error}");
        return result;
    }

    public void Dispose() => Engine.Dispose();
}
