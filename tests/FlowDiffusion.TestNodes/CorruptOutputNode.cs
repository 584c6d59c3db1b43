using FlowDiffusion.Sdk;

namespace FlowDiffusion.TestNodes;

[Node("test.corrupt_output", "1.0.0", Category = "test", Description = "Declares a number output but produces text.")]
public sealed class CorruptOutputNode : INode
{
    [Output(Description = "Declared as a number.", Type = typeof(double))]
    public object Result { get; set; } = 0.0;

    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Result = "not a number";
        return Task.CompletedTask;
    }
}
