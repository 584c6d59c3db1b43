using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>The bounds a loader node's model conversion runs within: the run's cancellation and the host's time limit.</summary>
internal static class Conversions
{
    /// <summary>Limits for a conversion <paramref name="context"/>'s node starts, cancelled with <paramref name="cancellationToken"/>.</summary>
    public static ConversionLimits Limits(INodeContext context, CancellationToken cancellationToken) => new()
    {
        CancellationToken = cancellationToken,
        Timeout = context.Limits.MaxConversionTime,
    };
}
