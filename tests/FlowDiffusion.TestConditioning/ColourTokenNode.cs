using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.TestConditioning;

/// <summary>Adds one extra context token to a conditioning.</summary>
[Node("test.colour_token", "1.0.0", Category = "test", Title = "Colour Token",
    Description = "Adds one extra context token whose first four values are (r, g, b, 1) and the rest 0 (the analytic model's embedding of a colour word).")]
public sealed class ColourTokenNode : INode
{
    /// <summary>The conditioning.</summary>
    [Input(Description = "The conditioning to add the token to.")]
    public Conditioning? Conditioning { get; set; }

    /// <summary>Red.</summary>
    [Parameter(Description = "Red.", Min = 0, Max = 1)]
    public double R { get; set; }

    /// <summary>Green.</summary>
    [Parameter(Description = "Green.", Min = 0, Max = 1)]
    public double G { get; set; }

    /// <summary>Blue.</summary>
    [Parameter(Description = "Blue.", Min = 0, Max = 1)]
    public double B { get; set; }

    /// <summary>The conditioning with the token.</summary>
    [Output(Description = "The conditioning with the extra token.")]
    public Conditioning? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var source = Conditioning!;
        if (source.Dim < 4) throw new ArgumentException($"the conditioning is {source.Dim} wide; a colour token needs 4");
        var token = new float[source.Dim];
        (token[0], token[1], token[2], token[3]) = ((float)R, (float)G, (float)B, 1f);
        Result = source.With(ExtraTokens.Key, new ExtraTensor([1, 1, source.Dim], token));
        return Task.CompletedTask;
    }
}
