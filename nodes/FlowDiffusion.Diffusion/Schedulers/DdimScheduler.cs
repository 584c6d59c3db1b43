using System.Numerics.Tensors;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// Denoising diffusion implicit models (Song et al. 2020, eq. 12); diffusers <c>DDIMScheduler</c>. Deterministic for
/// eta = 0; for eta &gt; 0 the σ_t·z term is drawn from the loop's noise source.
/// </summary>
public sealed class DdimScheduler : AlphaBarScheduler
{
    private readonly float finalAlphaBar;
    private float[]? x0;
    private float[]? epsilon;
    private float[]? fresh;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="config">The configuration; absent keys take diffusers' DDIM defaults (clip_sample and set_alpha_to_one true).</param>
    /// <param name="eta">The η of DDIM's eq. 16: 0 is deterministic DDIM, 1 matches DDPM's variance.</param>
    public DdimScheduler(SchedulerConfig config, float eta = 0f) : base("ddim", config, ZeroSnrSupport.Exact)
    {
        Eta = eta;
        finalAlphaBar = config.SetAlphaToOne ?? true ? 1f : NoiseSchedule.AlphaBar(0);
    }

    /// <summary>The η of DDIM's eq. 16.</summary>
    public float Eta { get; }

    /// <inheritdoc />
    public override void SetTimesteps(int steps) =>
        SetSchedule(steps, DiscreteTimesteps(steps).Select(t => (float)t).ToArray(), null);

    /// <summary>σ_t² of DDIM's eq. 16 for the pair (t, t_prev): (1 − ᾱ_prev)/(1 − ᾱ_t) · (1 − ᾱ_t/ᾱ_prev).</summary>
    /// <param name="timestep">The current timestep.</param>
    /// <param name="previousTimestep">The next (smaller) timestep, or a negative value for the end.</param>
    public float Variance(int timestep, int previousTimestep)
    {
        var alphaBar = NoiseSchedule.AlphaBar(timestep);
        var alphaBarPrev = previousTimestep >= 0 ? NoiseSchedule.AlphaBar(previousTimestep) : finalAlphaBar;
        float betaBar = 1f - alphaBar, betaBarPrev = 1f - alphaBarPrev;
        return betaBarPrev / betaBar * (1f - alphaBar / alphaBarPrev);
    }

    /// <inheritdoc />
    public override void Step(ReadOnlySpan<float> modelOutput, float timestep, ReadOnlySpan<float> sample, Span<float> previousSample, INoiseSource? noise)
    {
        if (InferenceSteps == 0) throw new InvalidOperationException("ddim: call SetTimesteps before stepping.");
        var t = (int)timestep;
        var prev = t - StepRatio;
        var alphaBar = NoiseSchedule.AlphaBar(t);
        var alphaBarPrev = prev >= 0 ? NoiseSchedule.AlphaBar(prev) : finalAlphaBar;

        var x = Scratch(ref x0, sample.Length);
        var e = Scratch(ref epsilon, sample.Length);
        Predict(modelOutput, sample, alphaBar, x, e);

        var stdDev = Eta * MathF.Sqrt(Variance(t, prev));
        var direction = MathF.Sqrt(1f - alphaBarPrev - stdDev * stdDev);
        var sqrtAlphaPrev = MathF.Sqrt(alphaBarPrev);
        TensorPrimitives.Multiply(x, sqrtAlphaPrev, previousSample);
        TensorPrimitives.MultiplyAdd(e, direction, previousSample, previousSample);

        if (Eta > 0)
        {
            if (noise is null) throw new ArgumentNullException(nameof(noise), "ddim with eta > 0 is stochastic: pass the loop's noise source.");
            var z = Scratch(ref fresh, sample.Length);
            noise.FillStandardNormal(z);
            for (var i = 0; i < z.Length; i++) previousSample[i] += stdDev * z[i];
        }
    }
}
