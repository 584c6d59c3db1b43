using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Engine.Tests.Execution;

/// <summary>
/// <c>FlowDiffusion:MaxConcurrency</c> applies to runs that do not set their own limit. Overlap is measured from the event
/// stream: the executor publishes node_started after a node takes its slot and node_finished before it gives it back,
/// so the most nodes between their started and finished events, in stream order, is how many executed at once.
/// </summary>
public sealed class ConfiguredConcurrencyTests : IDisposable
{
    private readonly TempFolder _outputs = new();

    /// <summary>
    /// <paramref name="count"/> branches off one source. Each branch's parameters come from its number, so no two share a
    /// cache key: identical branches would let one that checks the cache after another finished reuse its result instead of
    /// executing (seen on a loaded machine, when a branch's task started more than a delay late).
    /// </summary>
    private static string Branches(string node, int count, Func<int, string> with)
    {
        var nodes = string.Concat(Enumerable.Range(1, count).Select(i => $"  b{i}: {{ node: {node}, in: {{ value: a.result }}, with: {with(i)} }}\n"));
        return $"flowdiffusion: 1\nname: branches\nnodes:\n  a: {{ node: test.number, with: {{ value: 1.5 }} }}\n{nodes}";
    }

    [Fact]
    public async Task A_configured_limit_of_one_executes_independent_branches_one_at_a_time()
    {
        using var engine = Engine(maxConcurrency: 1);

        var (result, events) = await RunAsync(engine, Branches("test.delay", 3, i => $"{{ milliseconds: {100 + i}, steps: 1 }}"), new RunOptions());

        Assert.Equal(RunStatus.Completed, result.Status);
        Assert.Equal(4, events.OfType<NodeFinished>().Count());
        Assert.Equal(1, MostAtOnce(events));
    }

    [Fact]
    public async Task A_configured_limit_of_three_lets_three_branches_meet()
    {
        using var engine = Engine(maxConcurrency: 3);

        var (result, events) = await RunAsync(engine, Branches("test.rendezvous", 3, _ => "{ group: g, parties: 3, timeout_ms: 60000 }"), new RunOptions());

        Assert.Equal(RunStatus.Completed, result.Status);
        Assert.Equal(3, MostAtOnce(events));
    }

    [Fact]
    public async Task A_runs_own_limit_wins_over_the_configured_one()
    {
        using var engine = Engine(maxConcurrency: 1);

        var (result, events) = await RunAsync(engine, Branches("test.rendezvous", 2, _ => "{ group: g, parties: 2, timeout_ms: 60000 }"), new RunOptions { MaxConcurrency = 2 });

        Assert.Equal(RunStatus.Completed, result.Status);
        Assert.Equal(2, MostAtOnce(events));
    }

    private FlowDiffusionEngine Engine(int maxConcurrency) => new(
        Options.Create(new FlowDiffusionOptions { PluginFolders = [RepositoryRoot.TestPlugins], MaxConcurrency = maxConcurrency, OutputFolder = _outputs.Path }),
        new ServiceCollection().BuildServiceProvider());

    private async Task<(RunResult Result, List<RunEvent> Events)> RunAsync(FlowDiffusionEngine engine, string yaml, RunOptions options)
    {
        var validation = engine.Parse(yaml, "branches.yaml");
        Assert.True(validation.IsValid, string.Join("\n", validation.Diagnostics));
        var run = engine.Start(validation.Plan!, options with { OutputDirectory = _outputs.Path });
        var events = new List<RunEvent>();
        await foreach (var item in run.ReadEventsAsync()) events.Add(item);
        return (await run.Completion, events);
    }

    private static int MostAtOnce(IEnumerable<RunEvent> events)
    {
        int now = 0, most = 0;
        foreach (var item in events)
        {
            if (item is NodeStarted) most = Math.Max(most, ++now);
            else if (item is NodeFinished) now--;
        }
        return most;
    }

    public void Dispose() => _outputs.Dispose();
}
