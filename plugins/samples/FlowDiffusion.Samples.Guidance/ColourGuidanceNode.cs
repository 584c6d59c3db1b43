using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Samples.Guidance;

/// <summary>Steers any guider's result toward a colour, without autograd.</summary>
[Node("guidance.colour", "1.0.0", Category = "sampling", Title = "Colour Guidance",
    Description = "Wraps a guider and, at every step, pulls the predicted image toward a target colour through the linear latent-to-RGB map and its analytic gradient (the notebooks' blue-loss guidance).")]
public sealed class ColourGuidanceNode : INode
{
    /// <summary>The guider to steer.</summary>
    [Input(Description = "The guider to steer (e.g. guidance.cfg).")]
    public IGuider? Guider { get; set; }

    /// <summary>Target red.</summary>
    [Parameter(Description = "Target red, 0 to 1.", Min = 0, Max = 1, Step = 0.01)]
    public double Red { get; set; }

    /// <summary>Target green.</summary>
    [Parameter(Description = "Target green, 0 to 1.", Min = 0, Max = 1, Step = 0.01)]
    public double Green { get; set; }

    /// <summary>Target blue.</summary>
    [Parameter(Description = "Target blue, 0 to 1.", Min = 0, Max = 1, Step = 0.01)]
    public double Blue { get; set; } = 1;

    /// <summary>How far each step moves toward the target.</summary>
    [Parameter(Description = "How far each step moves the predicted image toward the target: 0 leaves it, 1 goes all the way (for an orthogonal map).", Min = 0, Max = 1, Step = 0.05)]
    public double Strength { get; set; } = 0.3;

    /// <summary>The model's latent-to-RGB factors.</summary>
    [Parameter(Description = "The model's linear latent-to-RGB factors, 12 numbers channel by channel (c0 r, c0 g, c0 b, c1 r, …); empty for SD 1.x's.")]
    public double[] LatentRgb { get; set; } = [];

    /// <summary>The steered guider.</summary>
    [Output(Description = "The steered guider.")]
    public IGuider? Steered { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var target = new[] { (float)(2 * Red - 1), (float)(2 * Green - 1), (float)(2 * Blue - 1) };
        Steered = new ColourGuider(Guider!, LatentRgbMap.From(LatentRgb), target, (float)Strength);
        return Task.CompletedTask;
    }
}
