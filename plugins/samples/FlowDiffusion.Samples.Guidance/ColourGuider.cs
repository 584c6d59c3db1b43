using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Samples.Guidance;

/// <summary>
/// Wraps a guider and pulls its predicted clean latents x0 toward a target colour: the loss is the squared error
/// between the linear latent→RGB image of x0 and the target, its gradient is analytic (Fᵀ of the residual), and
/// x0' = x0 − strength·∇ is returned as a noise prediction ε' = ε + strength·∇/σ.
/// </summary>
internal sealed class ColourGuider(IGuider inner, LatentRgbMap map, float[] target, float strength) : IGuider
{
    public int InChannels => inner.InChannels;

    public async Task<float[]> PredictAsync(GuidanceInput input, CancellationToken cancellationToken)
    {
        var epsilon = await inner.PredictAsync(input, cancellationToken);
        // Sigma schedulers step x = x0 + σε; ᾱ schedulers step x = √ᾱ(x0 + σε), so they are rescaled by √(1 + σ²).
        var sigma = input.Sigma ?? TrainingSigma.At(input.Timestep);
        if (sigma < 1e-4 || strength == 0) return epsilon;
        var toSigmaSpace = input.Sigma is null ? (float)Math.Sqrt(1 + sigma * sigma) : 1f;

        var shape = input.Shape;
        var plane = shape.Height * shape.Width;
        var latents = input.Latents.Span;
        var guided = (float[])epsilon.Clone();
        var step = strength / (map.Norm * (float)sigma);
        Span<float> x0 = stackalloc float[4];
        Span<float> residual = stackalloc float[3];
        for (var b = 0; b < shape.Batch; b++)
        for (var p = 0; p < plane; p++)
        {
            for (var c = 0; c < 4; c++)
            {
                var i = (b * 4 + c) * plane + p;
                x0[c] = latents[i] * toSigmaSpace - (float)sigma * epsilon[i];
            }
            for (var j = 0; j < 3; j++)
            {
                var rgb = 0f;
                for (var c = 0; c < 4; c++) rgb += x0[c] * map[c, j];
                residual[j] = rgb - target[j];
            }
            for (var c = 0; c < 4; c++)
            {
                var gradient = 0f;
                for (var j = 0; j < 3; j++) gradient += map[c, j] * residual[j];
                guided[(b * 4 + c) * plane + p] += step * gradient;
            }
        }
        return guided;
    }
}
