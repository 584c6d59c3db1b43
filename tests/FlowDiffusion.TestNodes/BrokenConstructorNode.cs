using FlowDiffusion.Sdk;

namespace FlowDiffusion.TestNodes;

[Node("test.broken_constructor", "1.0.0", Category = "test", Description = "Its constructor throws; the host must skip it and load the rest.")]
public sealed class BrokenConstructorNode : INode
{
    public BrokenConstructorNode() => throw new InvalidOperationException("constructor failure on purpose");

    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken) => Task.CompletedTask;
}
