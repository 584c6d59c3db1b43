using FlowDiffusion.Sdk;

namespace FlowDiffusion.TestNodes;

[Node("test.number", "1.0.0", Category = "test", Description = "Emits a constant.")]
public sealed class NumberNode : INode
{
    [Parameter(Description = "The value.", Min = -1e9, Max = 1e9)]
    public double Value { get; set; }

    [Output(Description = "The value.")]
    public double Result { get; set; }

    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Result = Value;
        return Task.CompletedTask;
    }
}
