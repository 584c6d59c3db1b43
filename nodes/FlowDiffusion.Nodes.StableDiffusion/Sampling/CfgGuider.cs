using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// Classifier-free guidance: ε = ε_u + s·(ε_c − ε_u), the unconditional and conditional halves evaluated as ONE
/// batch (negatives first). Scale 1 evaluates the positive half only.
/// </summary>
internal sealed class CfgGuider(IDenoiser denoiser, Conditioning positive, Conditioning negative, float scale) : IGuider
{
    public int InChannels => denoiser.InChannels;

    public async Task<float[]> PredictAsync(GuidanceInput input, CancellationToken cancellationToken)
    {
        var shape = input.Shape;
        if (scale == 1f)
            return await denoiser.PredictAsync(new DenoiserInput(input.ModelInput, shape, input.Timestep, positive), cancellationToken);

        var doubled = new float[2 * shape.Length];
        input.ModelInput.Span.CopyTo(doubled);
        input.ModelInput.Span.CopyTo(doubled.AsSpan(shape.Length));
        var context = ConditioningBatch.Stack(negative, positive, shape.Batch);
        var both = await denoiser.PredictAsync(new DenoiserInput(doubled, shape.WithBatch(2 * shape.Batch), input.Timestep, context), cancellationToken);
        var half = both.Length / 2;
        var result = new float[half];
        for (var i = 0; i < half; i++)
        {
            var u = both[i];
            result[i] = u + scale * (both[half + i] - u);
        }
        return result;
    }
}
