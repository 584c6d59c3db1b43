using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.TestConditioning;

/// <summary>Wraps a denoiser so that it reads extra context tokens from the conditioning.</summary>
[Node("test.extra_tokens_denoiser", "1.0.0", Category = "test", Title = "Extra Tokens Denoiser",
    Description = "Appends each conditioning's extra tokens (test.colour_token) to its text context, then runs the wrapped denoiser.")]
public sealed class ExtraTokensDenoiserNode : INode
{
    /// <summary>The wrapped denoiser.</summary>
    [Input(Description = "The denoiser to wrap.")]
    public IDenoiser? Denoiser { get; set; }

    /// <summary>The wrapper.</summary>
    [Output(Description = "The wrapping denoiser.")]
    public IDenoiser? Wrapped { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Wrapped = new ExtraTokensDenoiser(Denoiser!);
        return Task.CompletedTask;
    }
}
