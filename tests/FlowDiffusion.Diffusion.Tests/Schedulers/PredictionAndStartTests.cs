using FlowDiffusion.Diffusion.Schedulers;
using FlowDiffusion.Sdk.Diffusion;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Schedulers;

public sealed class PredictionAndStartTests
{
    private static SchedulerConfig Sd15 => SchedulerConfig.FromJson(Sd15ScheduleTests.SdConfigJson);

    public static TheoryData<string> Deterministic => new() { "ddim", "pndm", "lms", "euler", "heun", "dpmpp_2m", "dpm_single", "unipc", "deis", "kdpm2" };

    [Theory]
    [MemberData(nameof(Deterministic))]
    public void V_prediction_step_equals_the_epsilon_step_of_the_same_model(string name)
    {
        // A model that knows x₀ and ε of a noised sample reports either ε or v = α·ε − σ·x₀ (Salimans & Ho 2022).
        var x0 = SchedulerOracle.Sample("sample_4d");
        var epsilon = SchedulerOracle.Sample("sample_4d", noise: true);
        var fromEpsilon = FirstStep(SchedulerCatalog.Create(name, Sd15), x0, epsilon, v: false);
        var fromV = FirstStep(SchedulerCatalog.Create(name, Sd15 with { PredictionType = "v_prediction" }), x0, epsilon, v: true);
        for (var i = 0; i < x0.Length; i++) Assert.Equal(fromEpsilon[i], fromV[i], 1e-4f * (1 + MathF.Abs(fromEpsilon[i])));
    }

    private static float[] FirstStep(IScheduler scheduler, float[] x0, float[] epsilon, bool v)
    {
        scheduler.SetTimesteps(10);
        var t = scheduler.Timesteps[0];
        var alphaBar = scheduler.Sigmas is { } sigmas
            ? 1f / (sigmas[0] * sigmas[0] + 1f)
            : NoiseSchedule.For(Sd15).AlphaBar((int)t);
        float alpha = MathF.Sqrt(alphaBar), sigma = MathF.Sqrt(1f - alphaBar);
        var x = new float[x0.Length];
        scheduler.AddNoise(x0, epsilon, t, x);
        var output = new float[x.Length];
        for (var i = 0; i < x.Length; i++) output[i] = v ? alpha * epsilon[i] - sigma * x0[i] : epsilon[i];
        var next = new float[x.Length];
        scheduler.Step(output, t, x, next, null);
        return next;
    }

    public static TheoryData<string, int> MidSchedule => new()
    {
        { "ddim", 4 },
        { "euler", 4 },
        { "heun", 3 },
        { "kdpm2", 3 },
    };

    [Theory]
    [MemberData(nameof(MidSchedule))]
    public void Loop_started_mid_schedule_continues_the_full_run_exactly(string name, int tStart)
    {
        // Full run, keeping the state after tStart solver steps.
        var full = SchedulerCatalog.Create(name, Sd15);
        full.SetTimesteps(10);
        var start = tStart * full.Order;
        var x = SchedulerOracle.Sample("sample_4d");
        SchedulerOracle.Scale(x, full.InitNoiseSigma);
        float[]? atStart = null;
        var input = new float[x.Length];
        for (var i = 0; i < full.Timesteps.Count; i++)
        {
            if (i == start) atStart = (float[])x.Clone();
            var t = full.Timesteps[i];
            full.ScaleModelInput(x, t, input);
            full.Step(SchedulerOracle.Model(input, t), t, x, x, null);
        }

        // A fresh scheduler handed only the remaining timesteps finds its place from the first one.
        var partial = SchedulerCatalog.Create(name, Sd15);
        partial.SetTimesteps(10);
        var y = atStart!;
        var rest = partial.Timesteps.Skip(start).ToArray();
        SchedulerOracle.LoopPipeline(partial, rest, y);
        Assert.Equal(x, y);
    }

    [Fact]
    public void Heun_mid_schedule_noise_uses_the_sigma_of_the_repeated_timestep()
    {
        var heun = SchedulerCatalog.Create("heun", Sd15);
        heun.SetTimesteps(10);
        var t = heun.Timesteps[6];
        Assert.Equal(t, heun.Timesteps[5]);
        float[] clean = [0f], unit = [1f], noised = new float[1];
        heun.AddNoise(clean, unit, t, noised);
        Assert.Equal(heun.Sigmas![6], noised[0]);
    }

    [Fact]
    public void Dpm_solver_started_mid_schedule_takes_a_first_order_step()
    {
        var scheduler = SchedulerCatalog.Create("dpmpp_2m", Sd15);
        scheduler.SetTimesteps(10);
        var sigmas = scheduler.Sigmas!;
        float[] x = [1f, 2f], epsilon = [0.5f, -0.5f], next = new float[2];
        scheduler.Step(epsilon, scheduler.Timesteps[4], x, next, null);

        // DPM-Solver++(1) from σ_4 to σ_5 in data form, i.e. DDIM: x' = (σ'/σ)·x + α'·(1 − e^−h)·x₀.
        static (double A, double S) AlphaSigma(double s) => (1 / Math.Sqrt(s * s + 1), s / Math.Sqrt(s * s + 1));
        var (a0, s0) = AlphaSigma(sigmas[4]);
        var (a1, s1) = AlphaSigma(sigmas[5]);
        var h = Math.Log(a1 / s1) - Math.Log(a0 / s0);
        for (var i = 0; i < 2; i++)
        {
            var x0 = (x[i] - s0 * epsilon[i]) / a0;
            Assert.Equal(s1 / s0 * x[i] + a1 * (1 - Math.Exp(-h)) * x0, next[i], 4);
        }
    }
}
