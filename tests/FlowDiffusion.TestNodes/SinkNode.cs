using System.Globalization;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.TestNodes;

[Node("test.sink", "1.0.0", Category = "test", Description = "Writes a value to a text file in the run's output folder.", IsOutput = true)]
public sealed class SinkNode : INode
{
    [Input(Description = "The value to write.")]
    public double Value { get; set; }

    [Parameter(Description = "File name prefix.")]
    public string Prefix { get; set; } = "value";

    [Output(Description = "The file written.")]
    public string Path { get; set; } = "";

    public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Path = System.IO.Path.Combine(context.OutputDirectory, $"{Prefix}-{context.NodeId}.txt");
        await File.WriteAllTextAsync(Path, Value.ToString(CultureInfo.InvariantCulture), cancellationToken);
        context.ReportOutputFile(Path);
    }
}
