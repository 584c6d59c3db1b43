using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// ComfyUI's CFG++ samplers (Chung et al. 2024, "CFG++: manifold-constrained classifier free guidance"): euler_cfg_pp, euler_ancestral_cfg_pp,
/// dpmpp_2s_ancestral_cfg_pp, dpmpp_2m_cfg_pp, res_multistep_cfg_pp, res_multistep_ancestral_cfg_pp and
/// gradient_estimation_cfg_pp. Each is its base sampler with the noise direction taken from the unconditional x₀
/// estimate while the step lands on the guided one (CFG++ is meant for small cfg, around 1 to 2). One model
/// call per step (two for dpmpp_2s_ancestral_cfg_pp), each giving both estimates (<see cref="KCfgDenoiser"/>); the
/// formulas are those of ComfyUI's comfy/k_diffusion/sampling.py for ε and v models (α = 1).
/// </summary>
public static class CfgPlusPlus
{
    /// <summary>The CFG++ sampler names, in ComfyUI's order.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "euler_cfg_pp", "euler_ancestral_cfg_pp", "dpmpp_2s_ancestral_cfg_pp", "dpmpp_2m_cfg_pp", "res_multistep_cfg_pp",
        "res_multistep_ancestral_cfg_pp", "gradient_estimation_cfg_pp",
    ];

    /// <summary>Runs CFG++ sampler <paramref name="name"/> from <paramref name="x"/> down <paramref name="sigmas"/>; returns the final latents.</summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <param name="x">The starting latents (already noised to <c>sigmas[0]</c>); not modified.</param>
    /// <param name="sigmas">
    /// Descending noise levels, N + 1 of them for N steps; or rising ones (unsampling) for the samplers
    /// <see cref="RisingSigmas.Check"/> lets walk them.
    /// </param>
    /// <param name="model">The denoiser giving the guided and the unconditional estimate.</param>
    /// <param name="noise">Fresh standard normal noise for the ancestral ones (ComfyUI: a torch generator seeded with the seed).</param>
    /// <param name="onStep">Called after each step with (step, steps, latents).</param>
    /// <param name="cancellationToken">Cancels between model calls.</param>
    /// <param name="parameters">
    /// η and s_noise for euler_ancestral_cfg_pp and dpmpp_2s_ancestral_cfg_pp; null for k-diffusion's defaults. As in
    /// ComfyUI, euler_cfg_pp is euler_ancestral_cfg_pp with η and s_noise 0, and res_multistep_ancestral_cfg_pp keeps η and s_noise 1.
    /// </param>
    public static async Task<float[]> SampleAsync(string name, float[] x, IReadOnlyList<float> sigmas, KCfgDenoiser model, INoiseSource? noise,
        Func<int, int, float[], ValueTask>? onStep, CancellationToken cancellationToken, KSamplerParameters? parameters = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(sigmas);
        ArgumentNullException.ThrowIfNull(model);
        if (!Names.Contains(name))
            throw new ArgumentException(KSamplers.Check(name) ?? $"sampler '{name}' is not a CFG++ sampler; run it with KSamplers.SampleAsync.", nameof(name));
        parameters ??= KSamplerParameters.Default;
        if (parameters.Check(name) is { } invalid) throw new ArgumentException(invalid, nameof(parameters));
        var (eta, sNoise) = name == "euler_cfg_pp" ? (0.0, 0.0) : (parameters.Eta, parameters.SNoise);
        if (KSamplers.IsAncestral(name) && noise is null) throw new ArgumentException($"sampler '{name}' needs a noise source.", nameof(noise));
        if (RisingSigmas.Are(sigmas) && RisingSigmas.Check(name, parameters with { Eta = eta, SNoise = sNoise }) is { } rising) throw new ArgumentException(rising, nameof(sigmas));
        x = (float[])x.Clone();
        var steps = sigmas.Count - 1;
        float[]? oldUnconditional = null, oldDerivative = null;
        var oldDown = 0.0;
        for (var i = 0; i < steps; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double sigma = sigmas[i], next = sigmas[i + 1];
            var (denoised, unconditional) = await model(x, sigmas[i], cancellationToken);
            switch (name)
            {
                case "euler_cfg_pp" or "euler_ancestral_cfg_pp":
                {
                    if (next == 0)
                    {
                        denoised.CopyTo(x, 0);
                        break;
                    }

                    // The guided estimate plus the unconditional noise direction scaled to σ_down (DDIM's stochastic step).
                    var (down, up) = KSamplers.AncestralStep(sigma, next, eta);
                    for (var k = 0; k < x.Length; k++) x[k] = (float)(denoised[k] + (x[k] - (double)unconditional[k]) / sigma * down);
                    if (eta > 0 && sNoise > 0) KSamplers.AddNoise(x, noise!, up * sNoise);
                    break;
                }
                case "dpmpp_2s_ancestral_cfg_pp":
                {
                    // DPM-Solver++(2S) on the unconditional estimates (the midpoint call's guided one is unused), then the
                    // first call's guidance D − U added back.
                    var (down, up) = KSamplers.AncestralStep(sigma, next, eta);
                    var guidance = new float[x.Length];
                    for (var k = 0; k < x.Length; k++) guidance[k] = denoised[k] - unconditional[k];
                    if (down == 0) KSamplers.AddDerivative(x, unconditional, sigma, down - sigma);
                    else await KSamplers.Dpmpp2sStepAsync(x, unconditional, sigma, down, UnconditionalOf(model), cancellationToken);
                    if (next > 0) KSamplers.AddNoise(x, noise!, up * sNoise);
                    for (var k = 0; k < x.Length; k++) x[k] += guidance[k];
                    break;
                }
                case "dpmpp_2m_cfg_pp":
                {
                    // x = D + e^{−h}(x − U), with the second-order term −expm1(−h)/2r·(D − U_old) from the second step on.
                    var ratio = next / sigma;
                    var correction = 0.0;
                    if (oldUnconditional is not null && next != 0)
                    {
                        double h = Math.Log(sigma) - Math.Log(next), hLast = Math.Log(sigmas[i - 1]) - Math.Log(sigma);
                        correction = -double.ExpM1(-h) / (2 * (hLast / h));
                    }

                    for (var k = 0; k < x.Length; k++)
                    {
                        var mix = -ratio * unconditional[k];
                        if (correction != 0) mix += correction * (denoised[k] - (double)oldUnconditional![k]);
                        x[k] = (float)(denoised[k] + mix + ratio * x[k]);
                    }

                    oldUnconditional = unconditional;
                    break;
                }
                case "res_multistep_cfg_pp" or "res_multistep_ancestral_cfg_pp":
                {
                    var (down, up) = name == "res_multistep_cfg_pp" ? (next, 0.0) : KSamplers.AncestralStep(sigma, next);
                    if (down == 0 || oldUnconditional is null)
                    {
                        for (var k = 0; k < x.Length; k++) x[k] = (float)(denoised[k] + (x[k] - (double)unconditional[k]) / sigma * down);
                    }
                    else
                    {
                        for (var k = 0; k < x.Length; k++) x[k] += denoised[k] - unconditional[k];
                        KSamplers.ResMultistepStep(x, unconditional, oldUnconditional, sigma, down, oldDown, sigmas[i - 1]);
                    }

                    if (next > 0 && up > 0) KSamplers.AddNoise(x, noise!, up);
                    (oldUnconditional, oldDown) = (unconditional, down);
                    break;
                }
                case "gradient_estimation_cfg_pp":
                {
                    // Euler with the unconditional derivative from the guided estimate, then (from the second step) the
                    // gradient estimate with γ = 2: (γ − 1)(d − d_old)·dt.
                    var d = KSamplers.Derivative(x, unconditional, sigma);
                    if (next == 0)
                    {
                        denoised.CopyTo(x, 0);
                    }
                    else
                    {
                        for (var k = 0; k < x.Length; k++)
                        {
                            var value = denoised[k] + d[k] * next;
                            if (oldDerivative is not null) value += (d[k] - (double)oldDerivative[k]) * (next - sigma);
                            x[k] = (float)value;
                        }
                    }

                    oldDerivative = d;
                    break;
                }
            }

            if (onStep is not null) await onStep(i + 1, steps, x);
        }

        return x;
    }

    // The unconditional estimate alone, for the steps shared with the plain samplers.
    private static KDenoiser UnconditionalOf(KCfgDenoiser model) => async (x, sigma, cancellationToken) => (await model(x, sigma, cancellationToken)).Unconditional;
}
