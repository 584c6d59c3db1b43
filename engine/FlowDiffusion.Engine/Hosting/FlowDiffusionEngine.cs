using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Plugins;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Validation;
using FlowDiffusion.Engine.Workflows;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Engine.Hosting;

/// <summary>
/// The engine as hosts use it: plugins loaded into a catalog, workflows read and validated, runs executed with a
/// shared output cache. One per host.
/// </summary>
public sealed class FlowDiffusionEngine : IDisposable
{
    private readonly ILoggerFactory _loggers;
    private readonly ResourceStores _resources = new();
    private PluginSet _plugins;

    /// <summary>Creates the engine and loads the configured plugins.</summary>
    public FlowDiffusionEngine(IOptions<FlowDiffusionOptions> options, IServiceProvider services, ILoggerFactory? loggers = null)
    {
        Options = options.Value;
        _loggers = loggers ?? NullLoggerFactory.Instance;
        Services = services;
        Cache = new OutputCache(Options.CacheCapacity);
        _plugins = new PluginHost(_loggers.CreateLogger<PluginHost>()).Load(Options.PluginFolders);
        Executor = new WorkflowExecutor(Cache, services, _resources, _loggers);
    }

    /// <summary>The settings in force.</summary>
    public FlowDiffusionOptions Options { get; }

    /// <summary>Host services handed to nodes.</summary>
    public IServiceProvider Services { get; }

    /// <summary>The shared output cache.</summary>
    public OutputCache Cache { get; }

    /// <summary>The executor.</summary>
    public WorkflowExecutor Executor { get; }

    /// <summary>The loaded plugins and their load errors.</summary>
    public PluginSet Plugins => _plugins;

    /// <summary>The node types available.</summary>
    public NodeCatalog Catalog => _plugins.Catalog;

    /// <summary>Reads and validates a workflow file with input values applied.</summary>
    public ValidationResult Load(string path, IReadOnlyDictionary<string, object?>? inputs = null)
    {
        var read = WorkflowYamlReader.ReadFile(path);
        return Validate(read, inputs);
    }

    /// <summary>Reads and validates workflow YAML text.</summary>
    public ValidationResult Parse(string yaml, string? file = null, IReadOnlyDictionary<string, object?>? inputs = null) =>
        Validate(WorkflowYamlReader.Read(yaml, file), inputs);

    /// <summary>Runs a plan; events stream from the returned run.</summary>
    public WorkflowRun Start(ExecutionPlan plan, RunOptions? options = null, bool collectEvents = true, CancellationToken cancellationToken = default)
    {
        options ??= new RunOptions();
        options = options with
        {
            MaxConcurrency = options.MaxConcurrency > 0 ? options.MaxConcurrency : Options.MaxConcurrency,
            CancellationGrace = TimeSpan.FromSeconds(Options.CancellationGraceSeconds),
        };
        return Executor.Start(plan, options, collectEvents, cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose() => _resources.Dispose();

    private ValidationResult Validate(WorkflowLoadResult read, IReadOnlyDictionary<string, object?>? inputs) =>
        read.Workflow is null || read.HasErrors && read.Workflow.Nodes.Count == 0
            ? new ValidationResult(read.Diagnostics, null)
            : WorkflowValidator.Validate(read.Workflow, Catalog, inputs, read.Diagnostics);
}
