using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Sdk.Diffusion;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.KDiffusion;

public sealed partial class KSamplerTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in ComfyReference.Data.GetProperty("samplers").EnumerateArray())
            data.Add(c.GetProperty("sampler").GetString()!, c.GetProperty("scheduler").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Sampler_matches_k_diffusion_definition_on_a_toy_denoiser(string sampler, string scheduler)
    {
        var c = ComfyReference.Data.GetProperty("samplers").EnumerateArray()
            .First(e => e.GetProperty("sampler").GetString() == sampler && e.GetProperty("scheduler").GetString() == scheduler);
        var x = ComfyReference.Floats(c.GetProperty("x"));
        var sigmas = ComfyReference.Floats(c.GetProperty("sigmas"));
        var want = ComfyReference.Floats(c.GetProperty("result"));
        var calls = 0;
        var steps = new List<int>();
        var got = await KSamplers.SampleAsync(sampler, x, sigmas, (latents, sigma, _) =>
        {
            calls++;
            return ValueTask.FromResult(latents.Select(v => (float)(v / (1 + (double)sigma * sigma) + 0.1 * sigma / (1 + sigma))).ToArray());
        }, new SineNoise(), (step, total, _) =>
        {
            steps.Add(step);
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        for (var i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= 2e-5 * Math.Max(1, Math.Abs(want[i])), $"{sampler}/{scheduler}: x[{i}] {got[i]:R} vs {want[i]:R}");
        Assert.Equal(Enumerable.Range(1, sigmas.Length - 1), steps);
        var twoEvaluations = sampler is "heun" or "heunpp2" or "dpm_2" or "dpm_2_ancestral" or "dpmpp_sde" or "dpmpp_2s_ancestral" or "seeds_2" or "seeds_3";
        Assert.True(twoEvaluations ? calls > steps.Count : calls == steps.Count, $"{sampler}: {calls} model calls for {steps.Count} steps");
    }

    public static TheoryData<int> ParameterCases() => new(Enumerable.Range(0, ComfyReference.Data.GetProperty("sampler_parameters").GetArrayLength()));

    [Theory]
    [MemberData(nameof(ParameterCases))]
    public async Task Sampler_settings_follow_k_diffusion_definitions_on_a_toy_denoiser(int index)
    {
        var c = ComfyReference.Data.GetProperty("sampler_parameters")[index];
        var sampler = c.GetProperty("sampler").GetString()!;
        var given = c.GetProperty("parameters");
        var parameters = new KSamplerParameters(
            Eta: given.TryGetProperty("eta", out var eta) ? eta.GetDouble() : 1,
            SNoise: given.TryGetProperty("s_noise", out var sNoise) ? sNoise.GetDouble() : 1,
            R: given.TryGetProperty("r", out var r) ? r.GetDouble() : 0.5,
            SolverType: given.TryGetProperty("solver_type", out var solver) ? solver.GetString()! : "midpoint",
            Order: given.TryGetProperty("order", out var order) ? order.GetInt32() : 4);
        var x = ComfyReference.Floats(c.GetProperty("x"));
        var sigmas = ComfyReference.Floats(c.GetProperty("sigmas"));
        var want = ComfyReference.Floats(c.GetProperty("result"));
        var got = await KSamplers.SampleAsync(sampler, x, sigmas, Toy, new SineNoise(), null, CancellationToken.None, parameters: parameters);
        var what = $"{sampler} {given}/{c.GetProperty("scheduler").GetString()}";
        for (var i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= 2e-5 * Math.Max(1, Math.Abs(want[i])), $"{what}: x[{i}] {got[i]:R} vs {want[i]:R}");
        // The defaults would have given another result: the setting is read.
        var defaults = await KSamplers.SampleAsync(sampler, x, sigmas, Toy, new SineNoise(), null, CancellationToken.None);
        Assert.True(defaults.Zip(want).Max(p => Math.Abs(p.First - p.Second)) > 1e-3, $"{what}: the defaults give the same result");
    }

    public static TheoryData<int> CfgPlusPlusCases() => new(Enumerable.Range(0, ComfyReference.Data.GetProperty("cfg_pp").GetArrayLength()));

    [Theory]
    [MemberData(nameof(CfgPlusPlusCases))]
    public async Task Cfg_plus_plus_sampler_matches_ComfyUI_definition_on_a_toy_guided_denoiser(int index)
    {
        var c = ComfyReference.Data.GetProperty("cfg_pp")[index];
        var sampler = c.GetProperty("sampler").GetString()!;
        var given = c.GetProperty("parameters");
        var parameters = new KSamplerParameters(
            Eta: given.TryGetProperty("eta", out var eta) ? eta.GetDouble() : 1,
            SNoise: given.TryGetProperty("s_noise", out var sNoise) ? sNoise.GetDouble() : 1);
        var scale = c.GetProperty("scale").GetDouble();
        var x = ComfyReference.Floats(c.GetProperty("x"));
        var sigmas = ComfyReference.Floats(c.GetProperty("sigmas"));
        var want = ComfyReference.Floats(c.GetProperty("result"));
        var calls = 0;
        var steps = new List<int>();
        var got = await CfgPlusPlus.SampleAsync(sampler, x, sigmas, (latents, sigma, token) =>
        {
            calls++;
            return ToyGuided(latents, sigma, scale);
        }, new SineNoise(), (step, _, _) =>
        {
            steps.Add(step);
            return ValueTask.CompletedTask;
        }, CancellationToken.None, parameters);
        var what = $"{sampler} {given}/{c.GetProperty("scheduler").GetString()}";
        for (var i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= 2e-5 * Math.Max(1, Math.Abs(want[i])), $"{what}: x[{i}] {got[i]:R} vs {want[i]:R}");
        Assert.Equal(Enumerable.Range(1, sigmas.Length - 1), steps);
        Assert.True(sampler == "dpmpp_2s_ancestral_cfg_pp" ? calls > steps.Count : calls == steps.Count, $"{sampler}: {calls} model calls for {steps.Count} steps");

        // The guided estimate in the unconditional one's place lands elsewhere: the toy's two estimates are told apart.
        var guidedOnly = await CfgPlusPlus.SampleAsync(sampler, x, sigmas, async (latents, sigma, _) =>
        {
            var guided = (await ToyGuided(latents, sigma, scale)).Denoised;
            return new CfgDenoised(guided, guided);
        }, new SineNoise(), null, CancellationToken.None, parameters);
        Assert.True(guidedOnly.Zip(want).Max(p => Math.Abs(p.First - p.Second)) > 1e-3, $"{what}: the guided estimate alone gives the same result");
    }

    [Fact]
    public async Task Cfg_plus_plus_samplers_refuse_the_plain_denoiser_and_the_others_refuse_the_cfg_plus_plus_entry()
    {
        var plain = await Assert.ThrowsAsync<ArgumentException>(() => KSamplers.SampleAsync("euler_cfg_pp", [1f], [1f, 0f], Toy, null, null, CancellationToken.None));
        Assert.Contains("run it with CfgPlusPlus.SampleAsync", plain.Message);
        var other = await Assert.ThrowsAsync<ArgumentException>(() => CfgPlusPlus.SampleAsync("euler", [1f], [1f, 0f],
            (x, _, _) => ValueTask.FromResult(new CfgDenoised(x, x)), null, null, CancellationToken.None));
        Assert.Contains("not a CFG++ sampler", other.Message);
        Assert.Equal(CfgPlusPlus.Names, KSamplers.Names.Where(KSamplers.IsCfgPlusPlus));
    }

    public static TheoryData<int> DpmCases() => new(Enumerable.Range(0, ComfyReference.Data.GetProperty("dpm_solver").GetArrayLength()));

    [Theory]
    [MemberData(nameof(DpmCases))]
    public async Task Dpm_fast_and_dpm_adaptive_follow_the_dpm_solver_definitions_on_a_toy_denoiser(int index)
    {
        var c = ComfyReference.Data.GetProperty("dpm_solver")[index];
        var sampler = c.GetProperty("sampler").GetString()!;
        var given = c.GetProperty("parameters");
        double Setting(string name, double fallback) => given.TryGetProperty(name, out var value) ? value.GetDouble() : fallback;
        var defaults = KSamplerParameters.Default;
        var parameters = defaults with
        {
            DpmEta = Setting("eta", 0), SNoise = Setting("s_noise", 1), AdaptiveOrder = (int)Setting("order", 3), Rtol = Setting("rtol", defaults.Rtol),
            Atol = Setting("atol", defaults.Atol), HInit = Setting("h_init", defaults.HInit), Pcoeff = Setting("pcoeff", 0), Icoeff = Setting("icoeff", 1),
            Dcoeff = Setting("dcoeff", 0), AcceptSafety = Setting("accept_safety", defaults.AcceptSafety),
        };
        var x = ComfyReference.Floats(c.GetProperty("x"));
        var sigmas = ComfyReference.Floats(c.GetProperty("sigmas"));
        var want = ComfyReference.Floats(c.GetProperty("result"));
        var calls = 0;
        var reports = new List<(int Step, int Total)>();
        var got = await KSamplers.SampleAsync(sampler, x, sigmas, (latents, sigma, token) =>
        {
            calls++;
            return Toy(latents, sigma, token);
        }, new SineNoise(), (step, total, _) =>
        {
            reports.Add((step, total));
            return ValueTask.CompletedTask;
        }, CancellationToken.None, parameters: parameters);

        var what = $"{sampler} {given}/{c.GetProperty("scheduler").GetString()} ({sigmas.Length - 1} steps)";
        for (var i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= 2e-5 * Math.Max(1, Math.Abs(want[i])), $"{what}: x[{i}] {got[i]:R} vs {want[i]:R}");
        Assert.Equal(c.GetProperty("evaluations").GetInt32(), calls);
        if (sampler == "dpm_adaptive")
            Assert.Equal(parameters.AdaptiveOrder * (c.GetProperty("accepted").GetInt32() + c.GetProperty("rejected").GetInt32()), calls);
        // Progress climbs to the schedule's step count and never past it: evaluations made (dpm_fast), sigmas passed (dpm_adaptive).
        var steps = sigmas.Length - 1;
        Assert.All(reports, r => Assert.Equal(steps, r.Total));
        Assert.Equal(steps, reports[^1].Step);
        Assert.True(reports.Zip(reports.Skip(1)).All(p => p.First.Step < p.Second.Step), $"{what}: steps {string.Join(", ", reports.Select(r => r.Step))}");
        if (sampler == "dpm_fast") Assert.Equal(steps / 3 + 1, reports.Count); // ⌊n/3⌋ + 1 solver steps
    }

    [Fact]
    public async Task Dpm_adaptive_that_cannot_finish_stops_at_its_try_limit_with_an_error()
    {
        // No controller gain: every try is accepted at h_init, and 0.001 in log sigma would take thousands of steps.
        var parameters = KSamplerParameters.Default with { Pcoeff = 0, Icoeff = 0, Dcoeff = 0, HInit = 0.001 };
        var calls = 0;
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => KSamplers.SampleAsync("dpm_adaptive", [1f, -2f], [14.6f, 0.03f, 0f], (latents, sigma, token) =>
        {
            calls++;
            return Toy(latents, sigma, token);
        }, null, null, CancellationToken.None, parameters: parameters));
        Assert.Contains($"stopped after {DpmSolver.MaxAdaptiveTries} tries", error.Message);
        Assert.Contains("raise rtol or atol", error.Message);
        Assert.Equal(3 * DpmSolver.MaxAdaptiveTries, calls);
    }

    [Theory]
    [InlineData("dpm_fast")]
    [InlineData("dpm_adaptive")]
    public async Task Dpm_solvers_stop_between_model_evaluations_when_cancelled(string sampler)
    {
        using var cancel = new CancellationTokenSource();
        var calls = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => KSamplers.SampleAsync(sampler, [1f, -2f], [14.6f, 5f, 1f, 0.3f, 0.03f, 0f], (latents, sigma, token) =>
        {
            if (++calls == 2) cancel.Cancel();
            return Toy(latents, sigma, token);
        }, null, null, cancel.Token));
        Assert.Equal(2, calls);
    }

    [Theory]
    [InlineData("h_init", "h_init must be above 0")]
    [InlineData("accept_safety", "accept_safety 3 can never be met")]
    [InlineData("adaptive_order", "adaptive_order 4 is outside 2 … 3")]
    [InlineData("rtol", "rtol 100.5 is outside 0 … 100")]
    [InlineData("dpm_eta", "dpm_eta -1 is outside 0 … 100")]
    public async Task Dpm_adaptive_settings_that_cannot_run_are_errors_naming_them(string setting, string message)
    {
        var defaults = KSamplerParameters.Default;
        var parameters = setting switch
        {
            "h_init" => defaults with { HInit = 0 },
            "accept_safety" => defaults with { AcceptSafety = 3 },
            "adaptive_order" => defaults with { AdaptiveOrder = 4 },
            "rtol" => defaults with { Rtol = 100.5 },
            _ => defaults with { DpmEta = -1 },
        };
        var error = await Assert.ThrowsAsync<ArgumentException>(() => KSamplers.SampleAsync("dpm_adaptive", [1f], [1f, 0.5f, 0f], Toy, new SineNoise(), null,
            CancellationToken.None, parameters: parameters));
        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData("dpm_fast")]
    [InlineData("dpm_adaptive")]
    public async Task Dpm_solvers_with_eta_on_a_single_sigma_before_0_are_an_error_as_in_ComfyUI(string sampler)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => KSamplers.SampleAsync(sampler, [1f], [3f, 0f], Toy, new SineNoise(), null,
            CancellationToken.None, parameters: KSamplerParameters.Default with { DpmEta = 0.5 }));
        Assert.Contains("use eta 0 or more steps", error.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(9)]
    [InlineData(20)]
    public void Lms_coefficients_are_the_integrals_of_the_lagrange_basis_over_the_step(int order)
    {
        // Sigmas one apart ending at 1.5, the step to 0.5: against composite Simpson on 20,000 intervals, an independent rule.
        var sigmas = Enumerable.Range(0, order).Select(k => (float)(order + 0.5 - k)).Append(0.5f).ToArray();
        var i = order - 1;
        double a = sigmas[i], b = sigmas[i + 1];
        for (var j = 0; j < order; j++)
        {
            double Basis(double tau)
            {
                var product = 1.0;
                for (var k = 0; k < order; k++)
                    if (k != j) product *= (tau - sigmas[i - k]) / ((double)sigmas[i - j] - sigmas[i - k]);
                return product;
            }

            const int intervals = 20000;
            var step = (b - a) / intervals;
            var simpson = Basis(a) + Basis(b);
            for (var n = 1; n < intervals; n++) simpson += (n % 2 == 1 ? 4 : 2) * Basis(a + n * step);
            simpson *= step / 3;
            var got = KSamplers.LmsCoefficient(order, sigmas, i, j);
            Assert.True(Math.Abs(got - simpson) <= 1e-9 * Math.Max(1, Math.Abs(simpson)), $"order {order}, j {j}: {got:R} vs {simpson:R}");
        }
    }

    public static TheoryData<int> SaSolverCases() => new(Enumerable.Range(0, ComfyReference.Data.GetProperty("sa_solver").GetArrayLength()));

    [Theory]
    [MemberData(nameof(SaSolverCases))]
    public async Task Sa_solver_follows_the_stochastic_adams_definitions_on_a_toy_denoiser(int index)
    {
        var c = ComfyReference.Data.GetProperty("sa_solver")[index];
        var sampler = c.GetProperty("sampler").GetString()!;
        var given = c.GetProperty("parameters");
        double Setting(string name, double fallback) => given.TryGetProperty(name, out var value) ? value.GetDouble() : fallback;
        var parameters = KSamplerParameters.Default with
        {
            Eta = Setting("eta", 1), SNoise = Setting("s_noise", 1), SdeStartPercent = Setting("sde_start_percent", 0.2), SdeEndPercent = Setting("sde_end_percent", 0.8),
            PredictorOrder = (int)Setting("predictor_order", 3), CorrectorOrder = (int)Setting("corrector_order", 4),
            SimpleOrder2 = given.TryGetProperty("simple_order_2", out var simple) && simple.GetBoolean(),
        };
        var x = ComfyReference.Floats(c.GetProperty("x"));
        var sigmas = ComfyReference.Floats(c.GetProperty("sigmas"));
        var want = ComfyReference.Floats(c.GetProperty("result"));
        var calls = 0;
        var reports = new List<int>();
        var got = await KSamplers.SampleAsync(sampler, x, sigmas, (latents, sigma, token) =>
        {
            calls++;
            return Toy(latents, sigma, token);
        }, new SineNoise(), (step, total, _) =>
        {
            Assert.Equal(sigmas.Length - 1, total);
            reports.Add(step);
            return ValueTask.CompletedTask;
        }, CancellationToken.None, parameters: parameters, modelSampling: ComfyReference.Sd15);

        var what = $"{sampler} {given}/{c.GetProperty("scheduler").GetString()} ({sigmas.Length - 1} steps)";
        for (var i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= 2e-5 * Math.Max(1, Math.Abs(want[i])), $"{what}: x[{i}] {got[i]:R} vs {want[i]:R}");
        Assert.Equal(c.GetProperty("evaluations").GetInt32(), calls);
        Assert.Equal(Enumerable.Range(1, sigmas.Length - 1), reports);
    }

    [Fact]
    public async Task Sa_solver_settings_are_read_and_the_window_follows_the_model()
    {
        float[] x = [3f, -1f, 0.5f, 2f];
        var sigmas = ComfyReference.Floats(ComfyReference.Data.GetProperty("sa_solver")[0].GetProperty("sigmas"));
        Task<float[]> Run(KSamplerParameters p, string name = "sa_solver") =>
            KSamplers.SampleAsync(name, x, sigmas, Toy, new SineNoise(), null, CancellationToken.None, parameters: p, modelSampling: ComfyReference.Sd15);
        var defaults = await Run(KSamplerParameters.Default);
        // use_pece on sa_solver is sa_solver_pece, as SamplerSASolver names it.
        Assert.Equal(await Run(KSamplerParameters.Default, "sa_solver_pece"), await Run(KSamplerParameters.Default with { UsePece = true }));
        foreach (var changed in new[]
        {
            KSamplerParameters.Default with { Eta = 0 }, KSamplerParameters.Default with { SNoise = 0.5 }, KSamplerParameters.Default with { SdeStartPercent = 0.5 },
            KSamplerParameters.Default with { SdeEndPercent = 0.3 }, KSamplerParameters.Default with { PredictorOrder = 1 }, KSamplerParameters.Default with { CorrectorOrder = 0 },
            KSamplerParameters.Default with { UsePece = true },
        })
            Assert.True(defaults.Zip(await Run(changed)).Max(p => Math.Abs(p.First - p.Second)) > 1e-4, $"{changed} gives the defaults' result");
        // η 0 is the ODE: no noise drawn, and no model sampling needed.
        var ode = await KSamplers.SampleAsync("sa_solver", x, sigmas, Toy, new SineNoise(), null, CancellationToken.None, parameters: KSamplerParameters.Default with { Eta = 0 });
        Assert.Equal(await Run(KSamplerParameters.Default with { Eta = 0 }), ode);
        var missing = await Assert.ThrowsAsync<ArgumentException>(() =>
            KSamplers.SampleAsync("sa_solver", x, sigmas, Toy, new SineNoise(), null, CancellationToken.None));
        Assert.Contains("SDE window", missing.Message);
        Assert.Equal(0.0, ComfyReference.Sd15.PercentToSigma(1));
        Assert.Equal(999999999.9, ComfyReference.Sd15.PercentToSigma(0));
    }

    [Theory]
    [InlineData("euler_ancestral", 100.01, 1, 0.5, "midpoint", 4, "eta")]
    [InlineData("euler_ancestral", 1, -0.1, 0.5, "midpoint", 4, "s_noise")]
    [InlineData("dpmpp_sde", 1, 1, 0, "midpoint", 4, "r must be above 0")]
    [InlineData("dpmpp_2m_sde", 1, 1, 0.5, "euler", 4, "solver_type 'euler'")]
    [InlineData("lms", 1, 1, 0.5, "midpoint", 101, "order 101")]
    public async Task Settings_out_of_range_are_errors_naming_them(string sampler, double eta, double sNoise, double r, string solver, int order, string message)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => KSamplers.SampleAsync(sampler, [1f], [1f, 0.5f, 0f], Toy, new SineNoise(), null,
            CancellationToken.None, parameters: new KSamplerParameters(eta, sNoise, r, solver, order)));
        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData(7, 4, 0.2, 0.8, 1, "predictor_order 7 is outside 1 … 6")]
    [InlineData(0, 4, 0.2, 0.8, 1, "predictor_order 0")]
    [InlineData(3, 7, 0.2, 0.8, 1, "corrector_order 7 is outside 0 … 6")]
    [InlineData(3, 4, -0.1, 0.8, 1, "sde_start_percent")]
    [InlineData(3, 4, 0.2, 1.5, 1, "sde_end_percent")]
    [InlineData(3, 4, 0.2, 0.8, 10.5, "eta 10.5 is outside 0 … 10 for sa_solver")]
    public async Task Sa_solver_settings_out_of_range_are_errors_naming_them(int predictor, int corrector, double start, double end, double eta, string message)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => KSamplers.SampleAsync("sa_solver", [1f], [1f, 0.5f, 0f], Toy, new SineNoise(), null,
            CancellationToken.None, parameters: KSamplerParameters.Default with { PredictorOrder = predictor, CorrectorOrder = corrector, SdeStartPercent = start, SdeEndPercent = end, Eta = eta },
            modelSampling: ComfyReference.Sd15));
        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData("nonsense", "unknown sampler_name 'nonsense'")]
    [InlineData("sa_solver_pec", "unknown sampler_name 'sa_solver_pec'")]
    public async Task Unknown_sampler_is_an_error_naming_it(string name, string message)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => KSamplers.SampleAsync(name, [1f], [1f, 0f],
            (x, _, _) => ValueTask.FromResult(x), null, null, CancellationToken.None));
        Assert.Contains(message, error.Message);
    }

    // The reference script's closed-form denoiser: x0 = x / (1 + σ²) + 0.1·σ / (1 + σ).
    private static ValueTask<float[]> Toy(float[] latents, float sigma, CancellationToken cancellationToken) =>
        ValueTask.FromResult(latents.Select(v => (float)(v / (1 + (double)sigma * sigma) + 0.1 * sigma / (1 + sigma))).ToArray());

    /// <summary>Element e of draw k is sin(1 + 0.37 e + 1.7 k), as the reference script draws it.</summary>
    private sealed class SineNoise : INoiseSource
    {
        private int draw;

        public void FillStandardNormal(Span<float> destination)
        {
            for (var e = 0; e < destination.Length; e++) destination[e] = (float)Math.Sin(1 + 0.37 * e + 1.7 * draw);
            draw++;
        }
    }

    // The reference script's toy guided model: the unconditional x0 = 0.8·x / (1 + σ²) − 0.05·σ / (1 + σ), the conditional
    // one Toy's, guided u + s·(c − u).
    private static ValueTask<CfgDenoised> ToyGuided(float[] latents, float sigma, double scale)
    {
        var (guided, unconditional) = (new float[latents.Length], new float[latents.Length]);
        for (var i = 0; i < latents.Length; i++)
        {
            double v = latents[i], variance = 1 + (double)sigma * sigma;
            var u = 0.8 * v / variance - 0.05 * sigma / (1 + sigma);
            var c = v / variance + 0.1 * sigma / (1 + sigma);
            (unconditional[i], guided[i]) = ((float)u, (float)(u + scale * (c - u)));
        }

        return ValueTask.FromResult(new CfgDenoised(guided, unconditional));
    }
}
