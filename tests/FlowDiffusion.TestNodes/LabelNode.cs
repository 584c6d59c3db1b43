using System.Globalization;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.TestNodes;

[Node("test.label", "1.0.0", Category = "test", Description = "Passes a value on and, only when something reads it, a label for it.")]
public sealed class LabelNode : INode
{
    [Input(Description = "The value.")]
    public double Value { get; set; }

    [Parameter(Description = "An output name to ask the engine about before anything else (empty: none).")]
    public string Probe { get; set; } = "";

    [Output(Description = "The value, always set.")]
    public double Number { get; set; }

    [Output(Description = "\"value = …\", set only when read.")]
    public string? Label { get; set; }

    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        if (Probe.Length > 0) context.IsOutputUsed(Probe);
        Number = Value;
        if (context.IsOutputUsed("label")) Label = "value = " + Value.ToString(CultureInfo.InvariantCulture);
        return Task.CompletedTask;
    }
}
