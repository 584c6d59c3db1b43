using FlowDiffusion.Sdk;

namespace FlowDiffusion.TestNodes;

[Node("test.throw", "1.0.0", Category = "test", Description = "Throws, to test failure handling.")]
public sealed class ThrowNode : INode
{
    [Input(Description = "Ignored.", Optional = true)]
    public double? Value { get; set; }

    [Parameter(Description = "The exception message.")]
    public string Message { get; set; } = "deliberate failure";

    [Output(Description = "Never set.")]
    public double Result { get; set; }

    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken) =>
        throw new InvalidOperationException(Message);
}
