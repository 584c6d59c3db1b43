using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// Pseudo numerical methods for diffusion models (Liu et al. 2022); diffusers <c>PNDMScheduler</c>. A Runge–Kutta
/// warm-up (<see cref="StepPrk"/>, skipped with <c>skip_prk_steps</c>) followed by the 4th-order linear multistep
/// update (<see cref="StepPlms"/>, "PLMS").
/// </summary>
public sealed class PndmScheduler : AlphaBarScheduler
{
    private const int PndmOrder = 4;
    private readonly float finalAlphaBar;
    private readonly List<float[]> ets = [];
    private float[] prkTimesteps = [];
    private float[]? rungeKuttaSum;
    private float[]? startSample;
    private float[]? combined;
    private int counter;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="config">The configuration; absent keys take diffusers' PNDM defaults (skip_prk_steps and set_alpha_to_one false).</param>
    public PndmScheduler(SchedulerConfig config) : base("pndm", config)
    {
        finalAlphaBar = config.SetAlphaToOne ?? false ? 1f : NoiseSchedule.AlphaBar(0);
        SkipPrkSteps = config.SkipPrkSteps ?? false;
    }

    /// <summary>Whether the Runge–Kutta warm-up is skipped.</summary>
    public bool SkipPrkSteps { get; }

    /// <summary>The Runge–Kutta part of the schedule (empty with <see cref="SkipPrkSteps"/>).</summary>
    public IReadOnlyList<float> PrkTimesteps => prkTimesteps;

    /// <summary>The linear multistep part of the schedule.</summary>
    public IReadOnlyList<float> PlmsTimesteps { get; private set; } = [];

    /// <inheritdoc />
    public override void SetTimesteps(int steps)
    {
        var ascending = DiscreteTimesteps(steps).Reverse().ToArray();
        float[] plms;
        if (SkipPrkSteps)
        {
            prkTimesteps = [];

            // The first PLMS step evaluates the model twice at the second timestep (a Heun-like start).
            int[] withRepeat = ascending.Length > 1 ? [.. ascending[..^1], ascending[^2], ascending[^1]] : ascending;
            plms = withRepeat.Reverse().Select(t => (float)t).ToArray();
        }
        else
        {
            var half = TrainSteps / steps / 2;
            var last = ascending[^Math.Min(PndmOrder, ascending.Length)..];
            var prk = last.SelectMany(t => new[] { t, t + half }).ToArray();
            prk = prk[..^1].SelectMany(t => new[] { t, t }).ToArray()[1..^1];
            prkTimesteps = prk.Reverse().Select(t => (float)t).ToArray();
            plms = ascending[..Math.Max(0, ascending.Length - 3)].Reverse().Select(t => (float)t).ToArray();
        }

        PlmsTimesteps = plms;
        SetSchedule(steps, [.. prkTimesteps, .. plms], null);
        ets.Clear();
        counter = 0;
        rungeKuttaSum = null;
    }

    /// <inheritdoc />
    public override void Step(ReadOnlySpan<float> modelOutput, float timestep, ReadOnlySpan<float> sample, Span<float> previousSample, INoiseSource? noise)
    {
        if (counter < prkTimesteps.Length && !SkipPrkSteps) StepPrk(modelOutput, timestep, sample, previousSample);
        else StepPlms(modelOutput, timestep, sample, previousSample);
    }

    /// <summary>One stage of the 4-stage Runge–Kutta warm-up (diffusers <c>step_prk</c>).</summary>
    /// <param name="modelOutput">The model output.</param>
    /// <param name="timestep">The current entry of <see cref="PrkTimesteps"/>.</param>
    /// <param name="sample">The state.</param>
    /// <param name="previousSample">Receives the next state.</param>
    public void StepPrk(ReadOnlySpan<float> modelOutput, float timestep, ReadOnlySpan<float> sample, Span<float> previousSample)
    {
        RequireSchedule();
        var diffToPrev = counter % 2 == 1 ? 0 : TrainSteps / InferenceSteps / 2;
        var prevTimestep = (int)timestep - diffToPrev;
        var t = (int)prkTimesteps[counter / 4 * 4];
        var length = sample.Length;
        var sum = Scratch(ref rungeKuttaSum, length);
        ReadOnlySpan<float> output = modelOutput;
        switch (counter % 4)
        {
            case 0:
                sum.Clear();
                for (var i = 0; i < length; i++) sum[i] += 1f / 6f * modelOutput[i];
                ets.Add(modelOutput.ToArray());
                sample.CopyTo(Scratch(ref startSample, length));
                break;
            case 1:
            case 2:
                for (var i = 0; i < length; i++) sum[i] += 1f / 3f * modelOutput[i];
                break;
            default:
                var final = Scratch(ref combined, length);
                for (var i = 0; i < length; i++) final[i] = sum[i] + 1f / 6f * modelOutput[i];
                sum.Clear();
                output = final;
                break;
        }

        ReadOnlySpan<float> start = startSample ?? sample.ToArray();
        PreviousSample(start, t, prevTimestep, output, previousSample);
        counter++;
    }

    /// <summary>One linear multistep update (diffusers <c>step_plms</c>).</summary>
    /// <param name="modelOutput">The model output.</param>
    /// <param name="timestep">The current entry of <see cref="PlmsTimesteps"/>.</param>
    /// <param name="sample">The state.</param>
    /// <param name="previousSample">Receives the next state.</param>
    public void StepPlms(ReadOnlySpan<float> modelOutput, float timestep, ReadOnlySpan<float> sample, Span<float> previousSample)
    {
        RequireSchedule();
        if (!SkipPrkSteps && ets.Count < 3)
        {
            throw new InvalidOperationException("pndm: the PLMS update needs the Runge–Kutta warm-up first; run the PRK timesteps or set skip_prk_steps.");
        }

        var ratio = TrainSteps / InferenceSteps;
        var t = (int)timestep;
        var prevTimestep = t - ratio;
        var length = sample.Length;
        if (counter != 1)
        {
            // Keep the three newest outputs and recycle the oldest buffer for the new one.
            var buffer = ets.Count > 3 ? ets[0] : new float[length];
            if (ets.Count > 3) ets.RemoveAt(0);
            modelOutput.CopyTo(buffer);
            ets.Add(buffer);
        }
        else
        {
            prevTimestep = t;
            t += ratio;
        }

        var output = Scratch(ref combined, length);
        ReadOnlySpan<float> from = sample;
        var n = ets.Count;
        if (n == 1 && counter == 0)
        {
            modelOutput.CopyTo(output);
            sample.CopyTo(Scratch(ref startSample, length));
        }
        else if (n == 1 && counter == 1)
        {
            var e1 = ets[^1];
            for (var i = 0; i < length; i++) output[i] = (modelOutput[i] + e1[i]) / 2f;
            from = startSample!;
        }
        else if (n == 2)
        {
            float[] e1 = ets[^1], e2 = ets[^2];
            for (var i = 0; i < length; i++) output[i] = (3f * e1[i] - e2[i]) / 2f;
        }
        else if (n == 3)
        {
            float[] e1 = ets[^1], e2 = ets[^2], e3 = ets[^3];
            for (var i = 0; i < length; i++) output[i] = (23f * e1[i] - 16f * e2[i] + 5f * e3[i]) / 12f;
        }
        else
        {
            float[] e1 = ets[^1], e2 = ets[^2], e3 = ets[^3], e4 = ets[^4];
            for (var i = 0; i < length; i++) output[i] = 1f / 24f * (55f * e1[i] - 59f * e2[i] + 37f * e3[i] - 9f * e4[i]);
        }

        PreviousSample(from, t, prevTimestep, output, previousSample);
        counter++;
    }

    // PNDM's eq. 9 transfer from t to t_prev along the predicted noise.
    private void PreviousSample(ReadOnlySpan<float> sample, int t, int prevTimestep, ReadOnlySpan<float> modelOutput, Span<float> destination)
    {
        var alphaBar = NoiseSchedule.AlphaBar(t);
        var alphaBarPrev = prevTimestep >= 0 ? NoiseSchedule.AlphaBar(prevTimestep) : finalAlphaBar;
        float betaBar = 1f - alphaBar, betaBarPrev = 1f - alphaBarPrev;
        float sqrtAlpha = MathF.Sqrt(alphaBar), sqrtBeta = MathF.Sqrt(betaBar);
        var sampleCoeff = MathF.Sqrt(alphaBarPrev / alphaBar);
        var denominator = alphaBar * MathF.Sqrt(betaBarPrev) + MathF.Sqrt(alphaBar * betaBar * alphaBarPrev);
        var difference = alphaBarPrev - alphaBar;
        var isV = Prediction == PredictionType.VPrediction;
        for (var i = 0; i < destination.Length; i++)
        {
            var m = isV ? sqrtAlpha * modelOutput[i] + sqrtBeta * sample[i] : modelOutput[i];
            destination[i] = sampleCoeff * sample[i] - difference * m / denominator;
        }
    }

    private void RequireSchedule()
    {
        if (InferenceSteps == 0) throw new InvalidOperationException("pndm: call SetTimesteps before stepping.");
    }
}
