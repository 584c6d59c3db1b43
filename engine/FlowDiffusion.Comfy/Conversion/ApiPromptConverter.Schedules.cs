using System.Globalization;
using System.Text.Json.Nodes;
using FlowDiffusion.Diffusion.KDiffusion;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's further SIGMAS nodes. SDTurboScheduler and BetaSamplingScheduler read the model, so they stay schedules by
/// name that diffusion.ksampler computes at run time (after ModelSamplingDiscrete and zsnr upstream); PolyexponentialScheduler,
/// VPScheduler, LaplaceScheduler and GITSScheduler are explicit sigmas computed here; SplitSigmasDenoise and SetFirstSigma
/// edit explicit sigmas here and pass on as edits for a schedule by name.
/// </summary>
public sealed partial class ApiPromptConverter
{
    private ComfyValue[]? SdTurboScheduler(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var steps = Integer(id, inputs, "steps", 1);
        var denoise = Number(id, inputs, "denoise", 1);
        if (model is null || steps is null || denoise is null || !Within(id, "steps", steps.Value, 1, 10) | !Within(id, "denoise", denoise.Value, 0, 1)) return null;
        return [new SigmasValue(SigmaSchedules.SdTurbo, steps.Value, denoise.Value, null)];
    }

    private ComfyValue[]? BetaSamplingScheduler(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var steps = Integer(id, inputs, "steps", 20);
        var alpha = Number(id, inputs, "alpha", 0.6);
        var beta = Number(id, inputs, "beta", 0.6);
        if (model is null || steps is null || alpha is null || beta is null) return null;
        if (!Within(id, "steps", steps.Value, 1, 10000) | !Within(id, "alpha", alpha.Value, 0, 50) | !Within(id, "beta", beta.Value, 0, 50)) return null;
        // A shape of 0 is no distribution: ComfyUI's quantile is NaN there and its schedule fails.
        foreach (var (name, value) in new[] { ("alpha", alpha.Value), ("beta", beta.Value) })
        {
            if (value > 0) continue;
            Error(id, "value_not_supported", "Value not supported", $"{name}: 0 gives no beta distribution; use a value above 0 (0.6 is KSampler's beta)", name);
            return null;
        }

        return [new SigmasValue("beta", steps.Value, 1, null) { BetaShape = (alpha.Value, beta.Value) }];
    }

    private ComfyValue[]? PolyexponentialScheduler(string id, JsonObject inputs)
    {
        var steps = Integer(id, inputs, "steps", 20);
        var sigmaMax = Number(id, inputs, "sigma_max", 14.614642);
        var sigmaMin = Number(id, inputs, "sigma_min", 0.0291675);
        var rho = Number(id, inputs, "rho", 1);
        if (steps is null || sigmaMax is null || sigmaMin is null || rho is null) return null;
        if (!Within(id, "steps", steps.Value, 1, 10000) | !Within(id, "sigma_max", sigmaMax.Value, 0, 5000) | !Within(id, "sigma_min", sigmaMin.Value, 0, 5000)
            | !Within(id, "rho", rho.Value, 0, 100))
            return null;
        var values = SigmaSchedules.Polyexponential(sigmaMin.Value, sigmaMax.Value, (int)steps.Value, rho.Value);
        return Falling(id, values, $"sigma_max {Show(sigmaMax.Value)}, sigma_min {Show(sigmaMin.Value)}, rho {Show(rho.Value)}", "sigma_min") ? [SigmasValue.Explicit(values)] : null;
    }

    private ComfyValue[]? VpScheduler(string id, JsonObject inputs)
    {
        var steps = Integer(id, inputs, "steps", 20);
        var betaD = Number(id, inputs, "beta_d", 19.9);
        var betaMin = Number(id, inputs, "beta_min", 0.1);
        var epsS = Number(id, inputs, "eps_s", 0.001);
        if (steps is null || betaD is null || betaMin is null || epsS is null) return null;
        if (!Within(id, "steps", steps.Value, 1, 10000) | !Within(id, "beta_d", betaD.Value, 0, 5000) | !Within(id, "beta_min", betaMin.Value, 0, 5000)
            | !Within(id, "eps_s", epsS.Value, 0, 1))
            return null;
        var values = SigmaSchedules.Vp((int)steps.Value, betaD.Value, betaMin.Value, epsS.Value);
        return Falling(id, values, $"beta_d {Show(betaD.Value)}, beta_min {Show(betaMin.Value)}, eps_s {Show(epsS.Value)}", "eps_s") ? [SigmasValue.Explicit(values)] : null;
    }

    private ComfyValue[]? LaplaceScheduler(string id, JsonObject inputs)
    {
        var steps = Integer(id, inputs, "steps", 20);
        var sigmaMax = Number(id, inputs, "sigma_max", 14.614642);
        var sigmaMin = Number(id, inputs, "sigma_min", 0.0291675);
        var mu = Number(id, inputs, "mu", 0);
        var beta = Number(id, inputs, "beta", 0.5);
        if (steps is null || sigmaMax is null || sigmaMin is null || mu is null || beta is null) return null;
        if (!Within(id, "steps", steps.Value, 1, 10000) | !Within(id, "sigma_max", sigmaMax.Value, 0, 5000) | !Within(id, "sigma_min", sigmaMin.Value, 0, 5000)
            | !Within(id, "mu", mu.Value, -10, 10) | !Within(id, "beta", beta.Value, 0, 10))
            return null;
        // Clamped to [sigma_min, sigma_max], the ends repeat a sigma when beta is large or mu far off: no falling schedule.
        var values = SigmaSchedules.Laplace(sigmaMin.Value, sigmaMax.Value, (int)steps.Value, mu.Value, beta.Value);
        var settings = $"sigma_max {Show(sigmaMax.Value)}, sigma_min {Show(sigmaMin.Value)}, mu {Show(mu.Value)}, beta {Show(beta.Value)}";
        return Falling(id, values, settings, "beta") ? [SigmasValue.Explicit(values)] : null;
    }

    private ComfyValue[]? GitsScheduler(string id, JsonObject inputs)
    {
        var coefficient = Number(id, inputs, "coeff", 1.2);
        var steps = Integer(id, inputs, "steps", 10);
        var denoise = Number(id, inputs, "denoise", 1);
        if (coefficient is null || steps is null || denoise is null) return null;
        if (!Within(id, "coeff", coefficient.Value, 0.8, 1.5) | !Within(id, "steps", steps.Value, 2, 1000) | !Within(id, "denoise", denoise.Value, 0, 1)) return null;
        if (!Gits.Coefficients.Any(c => Math.Round(c, 2) == Math.Round(coefficient.Value, 2)))
        {
            Error(id, "value_not_supported", "Value not supported",
                $"coeff: {Show(coefficient.Value)} has no GITS noise levels; use 0.80 … 1.50 in steps of 0.05 (1.20 by default)", "coeff");
            return null;
        }

        return [SigmasValue.Explicit(Gits.Sigmas(coefficient.Value, (int)steps.Value, denoise.Value))];
    }

    // SplitSigmasDenoise: low = the last round(steps · denoise) steps, high the steps before them.
    private ComfyValue[]? SplitSigmasDenoise(string id, JsonObject inputs)
    {
        var sigmas = Link<SigmasValue>(id, inputs, "sigmas");
        var denoise = Number(id, inputs, "denoise", 1);
        if (sigmas is null || denoise is null || !Within(id, "denoise", denoise.Value, 0, 1)) return null;
        if (sigmas.Values is { } values)
        {
            var (high, low) = SigmaEdits.SplitDenoise(values, denoise.Value);
            return [sigmas with { Values = high }, sigmas with { Values = low }];
        }

        var text = denoise.Value.ToString("R", CultureInfo.InvariantCulture);
        return [sigmas.WithEdit($"split_denoise {text} high", keepsHigh: true), sigmas.WithEdit($"split_denoise {text} low", keepsHigh: false)];
    }

    private ComfyValue[]? SetFirstSigma(string id, JsonObject inputs)
    {
        var sigmas = Link<SigmasValue>(id, inputs, "sigmas");
        var sigma = Number(id, inputs, "sigma", 136);
        if (sigmas is null || sigma is null || !Within(id, "sigma", sigma.Value, 0, SigmaEdits.MaxFirstSigma)) return null;
        if (sigmas.Values is not { } values) return [sigmas.WithEdit($"first {((float)sigma.Value).ToString("R", CultureInfo.InvariantCulture)}", keepsHigh: false)];
        if (values.Length == 0)
        {
            Error(id, "value_not_supported", "Value not supported", "sigmas: empty (denoise 0 upstream?); SetFirstSigma has no first sigma to set", "sigmas");
            return null;
        }

        var edited = SigmaEdits.SetFirst(values, (float)sigma.Value);
        // Falling or rising (after FlipSigmas), the samplers need the order kept.
        if (RisingSigmas.CheckOrder(edited) is { } order)
        {
            Error(id, "value_not_supported", "Value not supported", $"sigma {Show(sigma.Value)} gives {order}", "sigma");
            return null;
        }

        return [SigmasValue.Explicit(edited)];
    }
}
