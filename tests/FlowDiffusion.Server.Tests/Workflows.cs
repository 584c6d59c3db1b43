namespace FlowDiffusion.Server.Tests;

/// <summary>Workflows over the test node pack.</summary>
internal static class Workflows
{
    /// <summary>(a + 3) written to value-sink.txt; input a defaults to 2.</summary>
    public const string Sum = """
        flowdiffusion: 1
        name: sum
        inputs:
          a: { type: float, default: 2 }
        nodes:
          first: { node: test.number, with: { value: $a } }
          second: { node: test.number, with: { value: 3 } }
          add: { node: test.add, in: { a: first.result, b: second.result } }
          sink: { node: test.sink, in: { value: add.sum } }
        """;

    /// <summary>A slow run: the value passes through a delay of <paramref name="milliseconds"/> in 4 progress steps.</summary>
    public static string Slow(int milliseconds, string prefix = "slow") => $$"""
        flowdiffusion: 1
        name: slow
        nodes:
          start: { node: test.number, with: { value: 1 } }
          wait: { node: test.delay, in: { value: start.result }, with: { milliseconds: {{milliseconds}}, steps: 4 } }
          sink: { node: test.sink, in: { value: wait.result }, with: { prefix: {{prefix}} } }
        """;
}
