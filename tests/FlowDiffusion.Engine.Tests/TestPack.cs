using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Plugins;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Validation;
using FlowDiffusion.Engine.Workflows;
using Microsoft.Extensions.DependencyInjection;

namespace FlowDiffusion.Engine.Tests;

/// <summary>The test node pack, loaded once through <see cref="PluginHost"/> from its deployed plugin folder, like any third-party pack.</summary>
internal static class TestPack
{
    public const string PluginId = "flowdiffusion.test-nodes";

    private static readonly Lazy<PluginSet> Loaded = new(() => new PluginHost().Load([RepositoryRoot.TestPlugins]));

    public static PluginSet Plugins => Loaded.Value;

    public static NodeCatalog Catalog => Plugins.Catalog;

    /// <summary>Reads and validates YAML against the test pack, as if it came from <paramref name="file"/>.</summary>
    public static ValidationResult Validate(string yaml, IReadOnlyDictionary<string, object?>? inputs = null, string file = "test.yaml", WorkflowLimits? limits = null)
    {
        var read = WorkflowYamlReader.Read(yaml, file, limits);
        return read.Workflow is null
            ? new ValidationResult(read.Diagnostics, null)
            : WorkflowValidator.Validate(read.Workflow, Catalog, inputs, read.Diagnostics);
    }

    /// <summary>The plan of a workflow that must be valid.</summary>
    public static ExecutionPlan Plan(string yaml, IReadOnlyDictionary<string, object?>? inputs = null)
    {
        var result = Validate(yaml, inputs);
        Assert.True(result.IsValid, string.Join("\n", result.Diagnostics));
        return result.Plan!;
    }

    /// <summary>An executor with a fresh cache and no host services beyond an empty container.</summary>
    public static WorkflowExecutor Executor(OutputCache? cache = null) =>
        new(cache ?? new OutputCache(), new ServiceCollection().BuildServiceProvider(), new ResourceStores());
}
