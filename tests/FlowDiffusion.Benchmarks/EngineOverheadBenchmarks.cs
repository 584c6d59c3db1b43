using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Plugins;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Validation;
using FlowDiffusion.Engine.Workflows;
using Microsoft.Extensions.DependencyInjection;

namespace FlowDiffusion.Benchmarks;

/// <summary>
/// The engine's own cost on a chain of 1,000 trivial nodes from the test pack (test.number, then 999 × test.multiply
/// with distinct factors): reading and validating it, executing it with an empty cache, and re-running it fully cached.
/// Targets (issue 2): ≤ 50 ms to validate, ≤ 20 µs per node uncached, ≤ 5 ms cached.
/// </summary>
[MemoryDiagnoser]
[MinColumn]
public class EngineOverheadBenchmarks
{
    private const int Nodes = 1000;
    private string _yaml = "";
    private NodeCatalog _catalog = null!;
    private Workflow _workflow = null!;
    private ExecutionPlan _plan = null!;
    private OutputCache _emptyCache = null!;
    private WorkflowExecutor _uncached = null!;
    private WorkflowExecutor _cached = null!;
    private RunOptions _options = null!;
    private string _outputs = "";

    /// <summary>Loads the test pack as a plugin, builds the chain and warms the cache of the cached executor.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var plugins = new PluginHost().Load([Path.Combine(RepositoryRoot(), "artifacts", "test-plugins")]);
        _catalog = plugins.Catalog;
        _yaml = Chain(Nodes);
        _workflow = WorkflowYamlReader.Read(_yaml, "chain.yaml").Workflow!;
        _plan = WorkflowValidator.Validate(_workflow, _catalog).Plan
            ?? throw new InvalidOperationException("the benchmark chain does not validate");
        _outputs = Path.Combine(Path.GetTempPath(), "flowdiffusion-bench-" + Environment.ProcessId);
        _options = new RunOptions { OutputDirectory = _outputs, Targets = [$"n{Nodes - 1}"] };
        var services = new ServiceCollection().BuildServiceProvider();
        // Capacity above the chain length, so the cached run measures lookups rather than eviction.
        _emptyCache = new OutputCache(2 * Nodes);
        _uncached = new WorkflowExecutor(_emptyCache, services, new ResourceStores());
        _cached = new WorkflowExecutor(new OutputCache(2 * Nodes), services, new ResourceStores());
        var warm = _cached.RunAsync(_plan, _options).GetAwaiter().GetResult();
        if (warm.Status != RunStatus.Completed || warm.Executed != Nodes)
            throw new InvalidOperationException($"warm-up run: {warm.Status} {warm.Error}");
    }

    /// <summary>Removes the scratch output folder.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        if (Directory.Exists(_outputs)) Directory.Delete(_outputs, recursive: true);
    }

    /// <summary>YAML text to a validated plan, as <c>flowdiffusion validate</c> does.</summary>
    [Benchmark]
    public ExecutionPlan Read_and_validate_1000_nodes() =>
        WorkflowValidator.Validate(WorkflowYamlReader.Read(_yaml, "chain.yaml").Workflow!, _catalog).Plan!;

    /// <summary>Validation alone, from the parsed workflow.</summary>
    [Benchmark]
    public ExecutionPlan Validate_1000_nodes() => WorkflowValidator.Validate(_workflow, _catalog).Plan!;

    /// <summary>Executes all 1,000 nodes; the cache is emptied first so every node runs.</summary>
    [Benchmark]
    public RunResult Run_1000_nodes_uncached()
    {
        _emptyCache.Clear();
        return Check(_uncached.RunAsync(_plan, _options).GetAwaiter().GetResult(), executed: Nodes);
    }

    /// <summary>Re-runs the chain with every node served from the cache.</summary>
    [Benchmark]
    public RunResult Run_1000_nodes_cached() => Check(_cached.RunAsync(_plan, _options).GetAwaiter().GetResult(), executed: 0);

    private static RunResult Check(RunResult result, int executed) =>
        result.Status == RunStatus.Completed && result.Executed == executed
            ? result
            : throw new InvalidOperationException($"expected {executed} executed nodes, got {result.Executed} ({result.Status} {result.Error})");

    private static string Chain(int nodes)
    {
        var yaml = new StringBuilder("flowdiffusion: 1\nname: chain\nnodes:\n  n0: { node: test.number, with: { value: 1 } }\n");
        for (var i = 1; i < nodes; i++)
        {
            var factor = (0.5 + i * 1e-3).ToString("0.000", CultureInfo.InvariantCulture);
            yaml.Append(CultureInfo.InvariantCulture, $"  n{i}: {{ node: test.multiply, in: {{ value: n{i - 1}.product }}, with: {{ factor: {factor} }} }}\n");
        }
        return yaml.ToString().Replace("n0.product", "n0.result", StringComparison.Ordinal);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FlowDiffusion.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("FlowDiffusion.sln not found above " + AppContext.BaseDirectory);
    }
}
