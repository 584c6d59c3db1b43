using FlowDiffusion.Sdk;

namespace FlowDiffusion.TestNodes;

[Node("test.hang", "1.0.0", Category = "test", Description = "Ignores cancellation for a long time, to test abandonment.")]
public sealed class HangNode : INode
{
    [Parameter(Description = "How long to block, in milliseconds.")]
    public int Milliseconds { get; set; } = 60_000;

    [Output(Description = "Never set in time.")]
    public double Result { get; set; }

    public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        context.ReportProgress(new NodeProgress(0, "hanging"));
        await Task.Delay(Milliseconds, CancellationToken.None);
        Result = 1;
    }
}
