using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Engine.Tests.Execution;

public sealed class OutputCacheTests : ExecutionFixture
{
    private const string Graph = """
        flowdiffusion: 1
        name: cached
        inputs:
          start: { type: float, default: 2 }
          scale: { type: float, default: 4 }
        nodes:
          a: { node: test.number, with: { value: $start } }
          b: { node: test.number, with: { value: 3 } }
          sum: { node: test.add, in: { a: a.result, b: b.result } }
          times: { node: test.multiply, in: { value: sum.sum }, with: { factor: $scale } }
          other: { node: test.multiply, in: { value: b.result }, with: { factor: 10 } }
        """;

    [Fact]
    public async Task Second_identical_run_is_served_entirely_from_cache()
    {
        var first = await RunAsync(Graph);
        var second = await RunAsync(Graph);

        Assert.Equal(["a", "b", "other", "sum", "times"], first.Executed.Order(StringComparer.Ordinal));
        Assert.Empty(first.Cached);
        Assert.Empty(second.Executed);
        Assert.Equal(["a", "b", "other", "sum", "times"], second.Cached.Order(StringComparer.Ordinal));
        Assert.Equal(20.0, second.Result.Output("times", "product"));
        Assert.Equal((0, 5), (second.Result.Executed, second.Result.Cached));
        Assert.All(second.Result.Nodes, n => Assert.Equal((true, TimeSpan.Zero), (n.Cached, n.Duration)));
    }

    [Fact]
    public async Task Changing_an_upstream_parameter_reruns_that_node_and_its_descendants_only()
    {
        await RunAsync(Graph);

        var rerun = await RunAsync(Graph, inputs: new Dictionary<string, object?> { ["start"] = "5" });

        Assert.Equal(["a", "sum", "times"], rerun.Executed.Order(StringComparer.Ordinal));
        Assert.Equal(["b", "other"], rerun.Cached.Order(StringComparer.Ordinal));
        Assert.Equal(32.0, rerun.Result.Output("times", "product"));
        Assert.Equal(30.0, rerun.Result.Output("other", "product"));
    }

    [Fact]
    public async Task Changing_a_downstream_parameter_reuses_everything_upstream()
    {
        await RunAsync(Graph);

        var rerun = await RunAsync(Graph, inputs: new Dictionary<string, object?> { ["scale"] = "-1" });

        Assert.Equal(["times"], rerun.Executed);
        Assert.Equal(["a", "b", "other", "sum"], rerun.Cached.Order(StringComparer.Ordinal));
        Assert.Equal(-5.0, rerun.Result.Output("times", "product"));
    }

    [Fact]
    public async Task Changing_back_a_parameter_finds_the_earlier_results_again()
    {
        await RunAsync(Graph);
        await RunAsync(Graph, inputs: new Dictionary<string, object?> { ["start"] = "5" });

        var back = await RunAsync(Graph);

        Assert.Empty(back.Executed);
        Assert.Equal(20.0, back.Result.Output("times", "product"));
    }

    [Fact]
    public async Task Swapping_edges_between_ports_is_a_different_key()
    {
        const string divide = """
            flowdiffusion: 1
            name: ports
            nodes:
              a: { node: test.number, with: { value: 2 } }
              b: { node: test.number, with: { value: 3 } }
              t: { node: test.text, with: { text: x } }
              join: { node: test.add, in: { a: a.result, b: b.result } }
            """;
        await RunAsync(divide);

        var swapped = await RunAsync(divide.Replace("a: a.result, b: b.result", "a: b.result, b: a.result"));

        Assert.Equal(["join"], swapped.Executed);
    }

    [Fact]
    public async Task Non_deterministic_node_and_its_descendants_are_never_cached()
    {
        const string random = """
            flowdiffusion: 1
            name: random
            nodes:
              dice: { node: test.random }
              scaled: { node: test.multiply, in: { value: dice.result }, with: { factor: 100 } }
              fixed: { node: test.number, with: { value: 1 } }
            """;

        var first = await RunAsync(random);
        var second = await RunAsync(random);

        Assert.Equal(["dice", "fixed", "scaled"], first.Executed.Order(StringComparer.Ordinal));
        Assert.Equal(["dice", "scaled"], second.Executed.Order(StringComparer.Ordinal));
        Assert.Equal(["fixed"], second.Cached);
        Assert.NotEqual(first.Result.Output("dice", "result"), second.Result.Output("dice", "result"));
        Assert.Equal((double)second.Result.Output("dice", "result")! * 100, second.Result.Output("scaled", "product"));
    }

    [Fact]
    public void Cache_evicts_the_least_recently_used_entry_when_full()
    {
        var cache = new OutputCache(capacity: 2);
        cache.Set("one", new Dictionary<string, object?> { ["v"] = 1 });
        cache.Set("two", new Dictionary<string, object?> { ["v"] = 2 });
        Assert.True(cache.TryGet("one", out _));

        cache.Set("three", new Dictionary<string, object?> { ["v"] = 3 });

        Assert.Equal(2, cache.Count);
        Assert.True(cache.TryGet("one", out var one));
        Assert.Equal(1, one["v"]);
        Assert.False(cache.TryGet("two", out _));
        Assert.True(cache.TryGet("three", out _));
    }
}
