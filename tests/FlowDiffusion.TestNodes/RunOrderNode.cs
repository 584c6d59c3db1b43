using FlowDiffusion.Sdk;

namespace FlowDiffusion.TestNodes;

[Node("test.run_order", "1.0.0", Category = "test", Description = "Emits the number of the run it executes in (RunOrder.Current), from a task of its own; fails outside any run.")]
public sealed class RunOrderNode : INode
{
    [Input(Description = "A value to wait for, so the node can be placed after others.")]
    public double After { get; set; }

    [Output(Description = "The run's number.")]
    public double Order { get; set; }

    public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        // Read on a task the node starts, as model code that runs prompt encodes side by side does.
        var order = await Task.Run(() => RunOrder.Current, cancellationToken);
        Order = order ?? throw new InvalidOperationException("no run number: the host did not mark this run's work");
    }
}
