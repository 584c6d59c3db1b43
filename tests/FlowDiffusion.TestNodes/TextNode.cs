using FlowDiffusion.Sdk;

namespace FlowDiffusion.TestNodes;

[Node("test.text", "1.0.0", Category = "test", Description = "Joins text; an optional prefix comes over an edge.")]
public sealed class TextNode : INode
{
    [Input(Description = "Text placed first.", Optional = true)]
    public string? Prefix { get; set; }

    [Parameter(Description = "The text.", Multiline = true)]
    public string Text { get; set; } = "";

    [Parameter(Description = "Placed between prefix and text.", Choices = [" ", "-", ", "])]
    public string Separator { get; set; } = " ";

    [Parameter(Description = "How many times the text repeats.", Min = 1, Max = 10)]
    public int Repeat { get; set; } = 1;

    [Parameter(Description = "Upper-case the result.")]
    public bool Upper { get; set; }

    [Output(Description = "The joined text.")]
    public string Result { get; set; } = "";

    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var body = string.Concat(Enumerable.Repeat(Text, Repeat));
        var text = Prefix is null ? body : Prefix + Separator + body;
        Result = Upper ? text.ToUpperInvariant() : text;
        return Task.CompletedTask;
    }
}
