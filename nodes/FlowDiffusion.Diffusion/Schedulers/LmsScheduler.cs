using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// Linear multistep (k-diffusion <c>sample_lms</c>, order 4); diffusers <c>LMSDiscreteScheduler</c>. The
/// coefficients integrate the Lagrange basis over the sigma interval exactly (the basis is a polynomial of degree ≤ 3).
/// </summary>
public sealed class LmsScheduler : SigmaScheduler
{
    private const int LmsOrder = 4;
    private readonly List<float[]> derivatives = [];
    private readonly double[] coefficients = new double[LmsOrder];

    /// <summary>Creates the scheduler.</summary>
    /// <param name="config">The configuration; absent keys take diffusers' defaults.</param>
    public LmsScheduler(SchedulerConfig config) : base("lms", config)
    {
    }

    /// <inheritdoc />
    public override void SetTimesteps(int steps)
    {
        var (sigmas, timesteps) = InterpolatedSchedule(steps);
        SetSchedule(steps, timesteps, WithFinalSigma(sigmas, 0));
        derivatives.Clear();
    }

    /// <inheritdoc />
    public override void Step(ReadOnlySpan<float> modelOutput, float timestep, ReadOnlySpan<float> sample, Span<float> previousSample, INoiseSource? noise)
    {
        var index = EnsureStepIndex(timestep);
        var sigma = SigmaValues![index];

        // Recycle the oldest derivative buffer once the history is full.
        float[] d;
        if (derivatives.Count == LmsOrder)
        {
            d = derivatives[0];
            derivatives.RemoveAt(0);
        }
        else
        {
            d = new float[sample.Length];
        }

        PredictOriginal(modelOutput, sample, sigma, d);
        Derivative(sample, d, sigma);
        derivatives.Add(d);

        var order = Math.Min(index + 1, LmsOrder);
        for (var k = 0; k < order; k++) coefficients[k] = Coefficient(order, index, k);

        for (var i = 0; i < sample.Length; i++)
        {
            // Python's sum() over coefficient × derivative, newest first, in float32.
            var acc = 0f;
            for (var k = 0; k < order; k++) acc += (float)coefficients[k] * derivatives[derivatives.Count - 1 - k][i];
            previousSample[i] = sample[i] + acc;
        }

        StepIndex = index + 1;
    }

    // ∫ over [σ_t, σ_{t+1}] of the Lagrange basis polynomial for σ_{t−current}, by 3-point Gauss–Legendre (exact to degree 5).
    private double Coefficient(int order, int t, int current)
    {
        var sigmas = SigmaValues!;
        float Basis(double tau)
        {
            var product = 1f;
            for (var k = 0; k < order; k++)
            {
                if (k == current) continue;
                product *= ((float)tau - sigmas[t - k]) / (sigmas[t - current] - sigmas[t - k]);
            }

            return product;
        }

        double a = sigmas[t], b = sigmas[t + 1];
        double mid = (a + b) / 2, half = (b - a) / 2, node = Math.Sqrt(0.6);
        return half * (5.0 / 9 * Basis(mid - half * node) + 8.0 / 9 * Basis(mid) + 5.0 / 9 * Basis(mid + half * node));
    }
}
