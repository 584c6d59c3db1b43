using FlowDiffusion.Sdk;

namespace FlowDiffusion.TestNodes;

[Node("test.add", "1.0.0", Category = "test", Description = "a + b.")]
public sealed class AddNode : INode
{
    [Input(Description = "First addend.")]
    public double A { get; set; }

    [Input(Description = "Second addend.")]
    public double B { get; set; }

    [Output(Description = "The sum.")]
    public double Sum { get; set; }

    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Sum = A + B;
        return Task.CompletedTask;
    }
}
