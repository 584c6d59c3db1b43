using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Nodes.StableDiffusion.Control;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Adds a ControlNet with its control image to a conditioning; chain nodes to stack ControlNets.</summary>
[Node("controlnet.apply", "1.0.0", Category = "conditioning", Title = "Apply ControlNet",
    Description = "Adds a ControlNet or T2I-Adapter and its control image (edges, depth, pose … in 0..1) to a conditioning: while sampling, the UNet adds the ControlNet's residuals (the adapter's features) × strength between the start and end fractions of the schedule. Chain nodes to stack ControlNets; apply to the negative too for ComfyUI's advanced behaviour.")]
public sealed class ControlNetApplyNode : INode
{
    /// <summary>The conditioning.</summary>
    [Input(Description = "The conditioning to add the ControlNet to.")]
    public Conditioning? Conditioning { get; set; }

    /// <summary>The ControlNet.</summary>
    [Input(Description = "The ControlNet (controlnet.load) or T2I-Adapter (t2i_adapter.load).")]
    public IControlNet? ControlNet { get; set; }

    /// <summary>The control image.</summary>
    [Input(Description = "The control image in 0..1, resized to the latent size × 8 when it differs (batch 1, or one per latent).")]
    public Image? Image { get; set; }

    /// <summary>The strength.</summary>
    [Parameter(Description = "The factor the ControlNet's residuals are scaled by (0 = no effect).", Min = 0, Max = 10, Step = 0.01)]
    public float Strength { get; set; } = 1f;

    /// <summary>Where in the schedule the ControlNet starts acting.</summary>
    [Parameter(Description = "The fraction of the schedule where the ControlNet starts acting (0 = the first, noisiest step).", Min = 0, Max = 1, Step = 0.001)]
    public float StartPercent { get; set; }

    /// <summary>Where in the schedule the ControlNet stops acting.</summary>
    [Parameter(Description = "The fraction of the schedule where the ControlNet stops acting (1 = the last step).", Min = 0, Max = 1, Step = 0.001)]
    public float EndPercent { get; set; } = 1f;

    /// <summary>Guess mode.</summary>
    [Parameter(Description = "Guess mode (the original ControlNet's): residual i of n scaled by 0.825^(n−1−i), the middle block's by 1, so the ControlNet guides without a prompt. Apply it to the positive only, as the original and diffusers do.")]
    public bool GuessMode { get; set; }

    /// <summary>The conditioning with the ControlNet.</summary>
    [Output(Description = "The conditioning with the ControlNet added.")]
    public Conditioning? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var net = ControlNet is ControlNetHandle or ControlLoraHandle or T2IAdapterHandle
            ? ControlNet
            : throw new ArgumentException($"control_net: this ControlNet ({ControlNet?.GetType().Name ?? "none"}) was not loaded by controlnet.load or t2i_adapter.load");
        if (GuessMode && net is T2IAdapterHandle)
        {
            throw new ArgumentException("guess_mode: guess mode scales a ControlNet's residuals; a T2I-Adapter has none (turn it off)");
        }

        if (StartPercent > EndPercent)
        {
            throw new ArgumentException($"start_percent ({StartPercent}) is after end_percent ({EndPercent})");
        }

        var hint = new ControlHint(net, Image!, Strength, StartPercent, EndPercent, GuessMode);
        Result = CombinedConditionings.Each(Conditioning!, part =>
            part.With(ControlStack.Key, (part.Extras.TryGet(ControlStack.Key, out var existing) ? existing : ControlStack.Empty).Then(hint)));
        return Task.CompletedTask;
    }
}
