using FlowDiffusion.Sdk;

namespace FlowDiffusion.TestNodes;

[Node("test.delay", "1.0.0", Category = "test", Description = "Passes a value on after a delay, reporting progress; honours cancellation.")]
public sealed class DelayNode : INode
{
    [Input(Description = "The value.")]
    public double Value { get; set; }

    [Parameter(Description = "Delay in milliseconds.", Min = 0, Max = 600_000)]
    public int Milliseconds { get; set; } = 10;

    [Parameter(Description = "Progress steps reported over the delay.", Min = 1, Max = 1000)]
    public int Steps { get; set; } = 4;

    [Output(Description = "The value.")]
    public double Result { get; set; }

    public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        for (var step = 1; step <= Steps; step++)
        {
            await Task.Delay(Milliseconds / Steps, cancellationToken);
            context.ReportProgress(NodeProgress.OfSteps(step, Steps));
        }
        Result = Value;
    }
}
