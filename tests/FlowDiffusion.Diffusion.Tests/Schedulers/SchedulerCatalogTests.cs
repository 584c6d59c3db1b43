using FlowDiffusion.Diffusion.Schedulers;
using FlowDiffusion.Sdk.Diffusion;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Schedulers;

public sealed class SchedulerCatalogTests
{
    private static SchedulerConfig Sd15 => SchedulerConfig.FromJson(Sd15ScheduleTests.SdConfigJson);

    public static TheoryData<string, Type, int> Classes => new()
    {
        { "ddim", typeof(DdimScheduler), 1 },
        { "pndm", typeof(PndmScheduler), 1 },
        { "lms", typeof(LmsScheduler), 1 },
        { "euler", typeof(EulerScheduler), 1 },
        { "euler_a", typeof(EulerAncestralScheduler), 1 },
        { "heun", typeof(HeunScheduler), 2 },
        { "dpmpp_2m", typeof(DpmSolverMultistepScheduler), 1 },
        { "dpm_single", typeof(DpmSolverSinglestepScheduler), 1 },
        { "unipc", typeof(UniPcScheduler), 1 },
        { "deis", typeof(DeisScheduler), 1 },
        { "kdpm2", typeof(Kdpm2Scheduler), 2 },
        { "kdpm2_a", typeof(Kdpm2AncestralScheduler), 2 },
        { "ddpm", typeof(DdpmScheduler), 1 },
        { "lcm", typeof(LcmScheduler), 1 },
    };

    [Fact]
    public void Names_are_the_documented_short_names_in_order()
    {
        Assert.Equal(
            ["ddim", "pndm", "lms", "euler", "euler_a", "heun", "dpmpp_2m", "dpm_single", "unipc", "deis", "kdpm2", "kdpm2_a", "ddpm", "lcm"],
            SchedulerCatalog.Names);
    }

    [Theory]
    [MemberData(nameof(Classes))]
    public void Each_name_builds_its_diffusers_class_and_samples_a_finite_latent(string name, Type type, int order)
    {
        var scheduler = SchedulerCatalog.Create(name, Sd15);
        Assert.IsType(type, scheduler);
        Assert.Equal(name, scheduler.Name);
        Assert.Equal(order, scheduler.Order);

        scheduler.SetTimesteps(12);
        var x = SchedulerOracle.Sample("sample_4d");
        SchedulerOracle.Scale(x, scheduler.InitNoiseSigma);
        var input = new float[x.Length];
        var noise = new CountingNoise();
        foreach (var t in scheduler.Timesteps)
        {
            scheduler.ScaleModelInput(x, t, input);
            scheduler.Step(SchedulerOracle.Model(input, t), t, x, x, noise);
        }

        Assert.All(x, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Unknown_name_lists_the_valid_ones()
    {
        var error = Assert.Throws<ArgumentException>(() => SchedulerCatalog.Create("k_euler", Sd15));
        Assert.Contains("k_euler", error.Message);
        Assert.Contains("dpmpp_2m", error.Message);
        Assert.Contains("kdpm2_a", error.Message);
    }

    [Theory]
    [InlineData("ddim")]
    [InlineData("pndm")]
    [InlineData("euler_a")]
    [InlineData("ddpm")]
    public void Karras_on_a_class_without_it_is_an_error(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => SchedulerCatalog.Create(name, Sd15, karras: true));
        Assert.Contains(name, error.Message);
        Assert.Contains("Karras", error.Message);
    }

    [Fact]
    public void Karras_switch_changes_the_sigmas_to_the_rho_spacing()
    {
        var scheduler = SchedulerCatalog.Create("euler", Sd15, karras: true);
        scheduler.SetTimesteps(10);
        var sigmas = scheduler.Sigmas!;

        // σ_i^(1/7) is linear in i between σ_max and σ_min.
        double first = Math.Pow(sigmas[0], 1 / 7.0), last = Math.Pow(sigmas[9], 1 / 7.0);
        for (var i = 0; i < 10; i++) Assert.Equal(first + (last - first) * i / 9, Math.Pow(sigmas[i], 1 / 7.0), 5);
        Assert.Equal(14.614645f, sigmas[0], 1e-4f);
        Assert.Equal(0.0291675329f, sigmas[9], 1e-6f);
        Assert.Equal(0f, sigmas[10]);
    }

    [Fact]
    public void Spacing_override_replaces_the_class_default()
    {
        var leading = SchedulerCatalog.Create("euler", Sd15, spacing: "leading");
        leading.SetTimesteps(10);
        Assert.Equal([901f, 801, 701, 601, 501, 401, 301, 201, 101, 1], leading.Timesteps);

        var trailing = SchedulerCatalog.Create("ddim", Sd15, spacing: "trailing");
        trailing.SetTimesteps(10);
        Assert.Equal([999f, 899, 799, 699, 599, 499, 399, 299, 199, 99], trailing.Timesteps);

        Assert.Throws<ArgumentException>(() => SchedulerCatalog.Create("euler", Sd15, spacing: "uniform"));
    }

    [Fact]
    public void Ancestral_samplers_draw_one_sample_sized_tensor_exactly_when_diffusers_does()
    {
        var length = 768;
        var x = new float[length];
        var output = new float[length];

        var eulerA = SchedulerCatalog.Create("euler_a", Sd15);
        eulerA.SetTimesteps(5);
        var noise = new CountingNoise();
        foreach (var t in eulerA.Timesteps) eulerA.Step(output, t, x, x, noise);
        Assert.Equal(Enumerable.Repeat(length, 5), noise.Draws);

        var kdpm2A = SchedulerCatalog.Create("kdpm2_a", Sd15);
        kdpm2A.SetTimesteps(5);
        noise = new CountingNoise();
        foreach (var t in kdpm2A.Timesteps) kdpm2A.Step(output, t, x, x, noise);
        Assert.Equal(4, noise.Draws.Count); // second stage only: 9 calls = 4 full steps + a final first stage

        var ddpm = SchedulerCatalog.Create("ddpm", Sd15 with { SetAlphaToOne = null, StepsOffset = 0 });
        ddpm.SetTimesteps(5);
        noise = new CountingNoise();
        foreach (var t in ddpm.Timesteps) ddpm.Step(output, t, x, x, noise);
        Assert.Equal(4, noise.Draws.Count); // no noise at t = 0
    }

    [Fact]
    public void Euler_ancestral_with_zero_noise_steps_to_sigma_down()
    {
        var scheduler = SchedulerCatalog.Create("euler_a", Sd15);
        scheduler.SetTimesteps(10);
        var sigmas = scheduler.Sigmas!;
        float from = sigmas[0], to = sigmas[1];
        var up = MathF.Sqrt(to * to * (from * from - to * to) / (from * from));
        var down = MathF.Sqrt(to * to - up * up);

        float[] x = [1f, -2f, 0.5f], epsilon = [0.25f, 0.5f, -1f], next = new float[3];
        scheduler.Step(epsilon, scheduler.Timesteps[0], x, next, new CountingNoise());
        for (var i = 0; i < 3; i++) Assert.Equal(x[i] + epsilon[i] * (down - from), next[i], 1e-5f);
    }

    private sealed class CountingNoise : INoiseSource
    {
        public List<int> Draws { get; } = [];

        public void FillStandardNormal(Span<float> destination)
        {
            Draws.Add(destination.Length);
            destination.Clear();
        }
    }
}
