using FlowDiffusion.Sdk;

namespace FlowDiffusion.TestNodes;

public enum Rounding
{
    None,
    Floor,
    NearestEven,
}

[Node("test.multiply", "1.2.0", Category = "test", Description = "value × factor, optionally rounded.")]
public sealed class MultiplyNode : INode
{
    [Input(Description = "The value.")]
    public double Value { get; set; }

    [Parameter(Description = "The factor.", Min = -100, Max = 100)]
    public double Factor { get; set; } = 2;

    [Parameter(Description = "Rounding of the result.")]
    public Rounding Rounding { get; set; } = Rounding.None;

    [Output(Description = "The product.")]
    public double Product { get; set; }

    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var product = Value * Factor;
        Product = Rounding switch
        {
            Rounding.Floor => Math.Floor(product),
            Rounding.NearestEven => Math.Round(product, MidpointRounding.ToEven),
            _ => product,
        };
        return Task.CompletedTask;
    }
}
