using FlowDiffusion.Sdk;

namespace FlowDiffusion.TestNodes;

[Node("test.random", "1.0.0", Category = "test", Description = "A fresh random number each run (not cacheable).", Deterministic = false)]
public sealed class RandomNode : INode
{
    [Output(Description = "A random number in [0, 1).")]
    public double Result { get; set; }

    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Result = Random.Shared.NextDouble();
        return Task.CompletedTask;
    }
}
