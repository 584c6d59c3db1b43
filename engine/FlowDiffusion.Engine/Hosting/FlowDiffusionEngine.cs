using System.Collections.Concurrent;
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
/// shared output cache. One per host. Plugins reload while the host runs (<see cref="ReloadPlugins"/>,
/// <see cref="WatchPlugins"/>): new runs see the new catalog, runs in flight finish on the node types they started with.
/// </summary>
public sealed class FlowDiffusionEngine : IDisposable
{
    private readonly ILoggerFactory _loggers;
    private readonly ResourceStores _resources = new();
    private readonly PluginShadowCopy _shadowCopy = new();
    private readonly PluginHost _pluginHost;
    private readonly Lock _reloadGate = new();
    private readonly ConcurrentDictionary<WorkflowRun, byte> _inFlight = new();
    private volatile PluginSet _plugins;

    /// <summary>Creates the engine and loads the configured plugins.</summary>
    public FlowDiffusionEngine(IOptions<FlowDiffusionOptions> options, IServiceProvider services, ILoggerFactory? loggers = null)
    {
        Options = options.Value;
        _loggers = loggers ?? NullLoggerFactory.Instance;
        Services = services;
        Cache = new OutputCache(Options.CacheCapacity, Options.CacheMaxBytes > 0 ? Options.CacheMaxBytes : GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 8);
        _pluginHost = new PluginHost(_loggers.CreateLogger<PluginHost>(), _shadowCopy, Options.UnloadPluginBuilds);
        _plugins = _pluginHost.Load(Options.PluginFolders);
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
    /// <param name="path">The workflow file.</param>
    /// <param name="inputs">Values for the workflow's inputs.</param>
    /// <param name="anyInputPath">
    /// The run will read any path (<see cref="RunOptions.AnyInputPath"/>, the CLI's runs): admission then reads the model
    /// the run names wherever it lies, as the run will, instead of assuming SD 1.x's shape for one outside the input folders.
    /// </param>
    public ValidationResult Load(string path, IReadOnlyDictionary<string, object?>? inputs = null, bool anyInputPath = false)
    {
        var read = WorkflowYamlReader.ReadFile(path);
        return Validate(read, inputs, anyInputPath);
    }

    /// <summary>Reads and validates workflow YAML text.</summary>
    /// <param name="yaml">The workflow text.</param>
    /// <param name="file">The file name diagnostics give.</param>
    /// <param name="inputs">Values for the workflow's inputs.</param>
    /// <param name="anyInputPath">As for <see cref="Load"/>.</param>
    public ValidationResult Parse(string yaml, string? file = null, IReadOnlyDictionary<string, object?>? inputs = null, bool anyInputPath = false) =>
        Validate(WorkflowYamlReader.Read(yaml, file), inputs, anyInputPath);

    /// <summary>Runs a plan; events stream from the returned run.</summary>
    public WorkflowRun Start(ExecutionPlan plan, RunOptions? options = null, bool collectEvents = true, CancellationToken cancellationToken = default)
    {
        options ??= new RunOptions();
        options = options with
        {
            MaxConcurrency = options.MaxConcurrency ?? Options.MaxConcurrency,
            CancellationGrace = TimeSpan.FromSeconds(Options.CancellationGraceSeconds),
            Limits = options.Limits ?? Options.InputLimits,
            InputFolders = options.InputFolders ?? (options.AnyInputPath ? null : new InputFolders(Options.EffectiveInputFolders, options.WorkingDirectory)),
        };
        var run = Executor.Start(plan, options, collectEvents, cancellationToken);
        _inFlight.TryAdd(run, 0);
        _ = run.Completion.ContinueWith(done => _inFlight.TryRemove(run, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return run;
    }

    /// <summary>Raised after <see cref="ReloadPlugins"/> swapped in a new plugin set.</summary>
    public event EventHandler<PluginSet>? PluginsReloaded;

    /// <summary>
    /// Loads the plugin folders again: unchanged folders are reused, new or changed ones load into new load contexts
    /// (from private copies, so the originals can be rebuilt), and the catalog is swapped for the next validation.
    /// Plans already made keep their node types, so runs in flight finish on the old ones. When node types changed the
    /// output cache is cleared, since a rebuilt node may keep its version; the resource stores of replaced plugin
    /// loads are disposed, and their load contexts unloaded where collectible, once the runs in flight now have ended.
    /// </summary>
    public PluginSet ReloadPlugins()
    {
        PluginSet next;
        lock (_reloadGate)
        {
            var previous = _plugins;
            next = _pluginHost.Load(Options.PluginFolders);
            var before = previous.Catalog.All.ToHashSet();
            if (next.Catalog.Count != before.Count || next.Catalog.All.Any(n => !before.Contains(n))) Cache.Clear();
            _plugins = next;
            var kept = next.Catalog.All.Select(n => n.NodeType.Assembly).ToHashSet();
            var replaced = previous.Catalog.All.Where(n => !kept.Contains(n.NodeType.Assembly)).ToList();
            var retired = _pluginHost.TakeRetired();
            if (replaced.Count > 0 || retired.Count > 0)
                _ = Task.WhenAll(_inFlight.Keys.Select(r => (Task)r.Completion))
                    .ContinueWith(done =>
                    {
                        _resources.Release(replaced);
                        _pluginHost.Unload(retired);
                    }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
        PluginsReloaded?.Invoke(this, next);
        return next;
    }

    /// <summary>Reloads plugins whenever files under the plugin folders change; dispose the watcher to stop.</summary>
    /// <param name="quietPeriod">How long files must stay unchanged before a reload (default 1 s).</param>
    public PluginWatcher WatchPlugins(TimeSpan? quietPeriod = null) =>
        new(Options.PluginFolders, ReloadPlugins, quietPeriod ?? TimeSpan.FromSeconds(1), _loggers.CreateLogger<PluginWatcher>());

    /// <inheritdoc />
    public void Dispose()
    {
        _resources.Dispose();
        _shadowCopy.Dispose();
    }

    private ValidationResult Validate(WorkflowLoadResult read, IReadOnlyDictionary<string, object?>? inputs, bool anyInputPath)
    {
        if (read.Workflow is null || read.HasErrors && read.Workflow.Nodes.Count == 0) return new ValidationResult(read.Diagnostics, null);
        var result = WorkflowValidator.Validate(read.Workflow, Catalog, inputs, read.Diagnostics);
        return result.Plan is { } plan ? Admit(plan, result, anyInputPath) : result;
    }

    /// <summary>
    /// <paramref name="plan"/>'s peak memory estimate, with the profile of the model it names when that lies in the input
    /// folders (a model elsewhere is estimated as SD 1.x-shaped, the same whether or not it exists, so the estimate
    /// cannot probe the file system), or wherever it lies when <paramref name="anyInputPath"/> (the run may read any path).
    /// Relative paths are taken against <see cref="FlowDiffusionOptions.WorkingFolder"/>.
    /// </summary>
    public RunMemoryEstimate EstimateMemory(ExecutionPlan plan, bool anyInputPath = false)
    {
        var working = Path.GetFullPath(Options.WorkingFolder is { Length: > 0 } folder ? folder : Environment.CurrentDirectory);
        var folders = new InputFolders(Options.EffectiveInputFolders, working);
        return RunMemoryEstimate.Of(plan, path =>
        {
            try
            {
                return ModelMemoryProfile.Read(anyInputPath ? Path.GetFullPath(path, working) : folders.Resolve("path", path, working));
            }
            catch (UnauthorizedAccessException)
            {
                return null;
            }
        });
    }

    // Admission control: a run whose estimated peak memory exceeds the limit, or whose text exceeds the prompt limit, is
    // refused before it starts, with the estimate and the setting to change.
    private ValidationResult Admit(ExecutionPlan plan, ValidationResult result, bool anyInputPath)
    {
        var refusals = new List<Diagnostic>();
        foreach (var node in plan.Nodes)
        foreach (var (parameter, value) in node.Parameters)
            if (value is string text && text.Length > Options.MaxPromptCharacters)
                refusals.Add(Diagnostic.Error(
                    $"parameter '{parameter.Name}' is {text.Length:N0} characters; text is limited to {Options.MaxPromptCharacters:N0} (FlowDiffusion:MaxPromptCharacters)",
                    node.Id, plan.Workflow.Nodes.FirstOrDefault(n => n.Id == node.Id)?.Location, null));
        var limit = Options.EffectiveMaxRunMemory;
        var estimate = EstimateMemory(plan, anyInputPath);
        if (limit > 0 && estimate.Bytes > limit)
            refusals.Add(Diagnostic.Error(
                $"the run needs an estimated {RunMemoryEstimate.Format(estimate.Bytes)} ({estimate.Model}: {string.Join(", ", estimate.Parts)}), more than the " +
                $"{RunMemoryEstimate.Format(limit)} allowed per run (FlowDiffusion:MaxRunMemory); make the images smaller, the batch or the previews fewer",
                null, null, null));
        return refusals.Count == 0 ? result : new ValidationResult([.. result.Diagnostics, .. refusals], null);
    }
}
