using System.Globalization;
using System.Text.Json.Nodes;
using FlowDiffusion.Diffusion.KDiffusion;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's custom sampling classes: KSamplerSelect, the sampler nodes with settings (SamplerEulerAncestral,
/// SamplerDPMPP_2S_Ancestral, SamplerDPMPP_SDE, SamplerDPMPP_2M_SDE, SamplerDPMPP_3M_SDE, SamplerLMS, SamplerDPMAdaptative, SamplerEulerAncestralCFGPP, SamplerSASolver, SamplerER_SDE), BasicScheduler, KarrasScheduler, ExponentialScheduler, SplitSigmas,
/// RandomNoise, DisableNoise, CFGGuider, BasicGuider, PerpNegGuider, SamplerCustom and SamplerCustomAdvanced. Their pieces fold into one
/// diffusion.ksampler: a schedule by name (without KSampler's dropped sigma for dpm_2 and uni_pc, as BasicScheduler
/// computes it) or explicit sigmas, SplitSigmas as a step window, the noise's seed, and the guider's guidance.cfg.
/// </summary>
public sealed partial class ApiPromptConverter
{
    private ComfyValue[]? KSamplerSelect(string id, JsonObject inputs)
    {
        var name = Text(id, inputs, "sampler_name", null);
        if (name is null) return null;
        if (KSamplers.Check(name) is { } error)
        {
            Error(id, "value_not_in_list", "Value not in list", "sampler_name: " + error, "sampler_name");
            return null;
        }

        return [new SamplerValue(name, KSamplerParameters.Default)];
    }

    // SamplerEulerAncestral, SamplerEulerAncestralCFGPP, SamplerDPMPP_2S_Ancestral, SamplerDPMPP_SDE, SamplerDPMPP_2M_SDE and
    // SamplerDPMPP_3M_SDE: a sampler with η and s_noise (and r, solver_type); noise_device picks the _gpu name, which runs
    // the same here.
    private ComfyValue[]? SamplerWithNoiseSettings(string id, JsonObject inputs, string classType)
    {
        var eta = Number(id, inputs, "eta", 1);
        var sNoise = Number(id, inputs, "s_noise", 1);
        var r = classType == "SamplerDPMPP_SDE" ? Number(id, inputs, "r", 0.5) : 0.5;
        var solver = classType == "SamplerDPMPP_2M_SDE" ? Choice(id, inputs, "solver_type", "midpoint", [.. KSamplerParameters.SolverTypes]) : "midpoint";
        var device = classType is "SamplerEulerAncestral" or "SamplerDPMPP_2S_Ancestral" or "SamplerEulerAncestralCFGPP" ? "cpu"
            : Choice(id, inputs, "noise_device", "gpu", ["gpu", "cpu"]);
        if (eta is null || sNoise is null || r is null || solver is null || device is null) return null;
        // SamplerEulerAncestralCFGPP bounds η to 1 and s_noise to 10, as ComfyUI's does.
        var (maxEta, maxSNoise) = classType == "SamplerEulerAncestralCFGPP" ? (1.0, 10.0) : (KSamplerParameters.MaxFactor, KSamplerParameters.MaxFactor);
        if (!Within(id, "eta", eta.Value, 0, maxEta) | !Within(id, "s_noise", sNoise.Value, 0, maxSNoise) | !Within(id, "r", r.Value, 0, KSamplerParameters.MaxFactor))
            return null;
        var name = classType switch
        {
            "SamplerEulerAncestral" => "euler_ancestral",
            "SamplerEulerAncestralCFGPP" => "euler_ancestral_cfg_pp",
            "SamplerDPMPP_2S_Ancestral" => "dpmpp_2s_ancestral",
            "SamplerDPMPP_SDE" => "dpmpp_sde",
            "SamplerDPMPP_2M_SDE" => "dpmpp_2m_sde",
            _ => "dpmpp_3m_sde",
        };
        return [new SamplerValue(device == "gpu" ? name + "_gpu" : name, new KSamplerParameters(eta.Value, sNoise.Value, r.Value, solver))];
    }

    private ComfyValue[]? SamplerLms(string id, JsonObject inputs)
    {
        var order = Integer(id, inputs, "order", 4);
        if (order is null || !Within(id, "order", order.Value, 1, KSamplerParameters.MaxOrder)) return null;
        return [new SamplerValue("lms", KSamplerParameters.Default with { Order = (int)order.Value })];
    }

    // SamplerDPMAdaptative: dpm_adaptive with its order, tolerances, PID controller, η and s_noise (η is dpm_eta here,
    // which defaults to 0 as ComfyUI runs dpm_adaptive, where the ancestral samplers' eta defaults to 1).
    private ComfyValue[]? SamplerDpmAdaptive(string id, JsonObject inputs)
    {
        var defaults = KSamplerParameters.Default;
        var order = Integer(id, inputs, "order", defaults.AdaptiveOrder);
        var settings = new (string Name, double Default)[]
        {
            ("rtol", defaults.Rtol), ("atol", defaults.Atol), ("h_init", defaults.HInit), ("pcoeff", defaults.Pcoeff), ("icoeff", defaults.Icoeff),
            ("dcoeff", defaults.Dcoeff), ("accept_safety", defaults.AcceptSafety), ("eta", defaults.DpmEta), ("s_noise", defaults.SNoise),
        };
        var values = settings.Select(s => Number(id, inputs, s.Name, s.Default)).ToArray();
        if (order is null || values.Any(v => v is null)) return null;
        var valid = Within(id, "order", order.Value, 2, 3);
        for (var i = 0; i < settings.Length; i++) valid &= Within(id, settings[i].Name, values[i]!.Value, 0, KSamplerParameters.MaxAdaptiveSetting);
        if (!valid) return null;
        var parameters = defaults with
        {
            AdaptiveOrder = (int)order.Value, Rtol = values[0]!.Value, Atol = values[1]!.Value, HInit = values[2]!.Value, Pcoeff = values[3]!.Value,
            Icoeff = values[4]!.Value, Dcoeff = values[5]!.Value, AcceptSafety = values[6]!.Value, DpmEta = values[7]!.Value, SNoise = values[8]!.Value,
        };
        // Within ComfyUI's ranges but never finishing there (h_init 0, accept_safety above 1 + π/2): the message names the input.
        if (parameters.Check("dpm_adaptive") is { } error)
        {
            Error(id, "value_not_supported", "Value not supported", error, error.Split(' ')[0]);
            return null;
        }

        return [new SamplerValue("dpm_adaptive", parameters)];
    }

    // SamplerSASolver: sa_solver with its SDE window, orders and PECE flag, as ComfyUI bounds them. Its model places the
    // window; here diffusion.ksampler places it with the sampled model's schedule, which is the same model in a workflow.
    private ComfyValue[]? SamplerSaSolver(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var eta = Number(id, inputs, "eta", 1);
        var start = Number(id, inputs, "sde_start_percent", 0.2);
        var end = Number(id, inputs, "sde_end_percent", 0.8);
        var sNoise = Number(id, inputs, "s_noise", 1);
        var predictor = Integer(id, inputs, "predictor_order", 3);
        var corrector = Integer(id, inputs, "corrector_order", 4);
        var pece = Boolean(id, inputs, "use_pece", false);
        var simple = Boolean(id, inputs, "simple_order_2", false);
        if (model is null || eta is null || start is null || end is null || sNoise is null || predictor is null || corrector is null || pece is null || simple is null)
            return null;
        if (!Within(id, "eta", eta.Value, 0, KSamplerParameters.MaxSaSolverEta) | !Within(id, "sde_start_percent", start.Value, 0, 1) | !Within(id, "sde_end_percent", end.Value, 0, 1)
            | !Within(id, "s_noise", sNoise.Value, 0, KSamplerParameters.MaxFactor) | !Within(id, "predictor_order", predictor.Value, 1, KSamplerParameters.MaxSaSolverOrder)
            | !Within(id, "corrector_order", corrector.Value, 0, KSamplerParameters.MaxSaSolverOrder))
            return null;
        return [new SamplerValue("sa_solver", KSamplerParameters.Default with
        {
            Eta = eta.Value, SNoise = sNoise.Value, SdeStartPercent = start.Value, SdeEndPercent = end.Value, PredictorOrder = (int)predictor.Value,
            CorrectorOrder = (int)corrector.Value, UsePece = pece.Value, SimpleOrder2 = simple.Value,
        })];
    }

    // SamplerER_SDE: er_sde with its solver type (ER-SDE, Reverse-time SDE, ODE: er_sde_solver), max_stage, η (read by the
    // reverse-time SDE only) and s_noise. ComfyUI zeroes η and s_noise for the ODE and for the reverse-time SDE at η 0.
    private ComfyValue[]? SamplerErSde(string id, JsonObject inputs)
    {
        var solver = Choice(id, inputs, "solver_type", "ER-SDE", [.. ErSdeSolverTypes]);
        var stage = Integer(id, inputs, "max_stage", 3);
        var eta = Number(id, inputs, "eta", 1);
        var sNoise = Number(id, inputs, "s_noise", 1);
        if (solver is null || stage is null || eta is null || sNoise is null) return null;
        if (!Within(id, "max_stage", stage.Value, 1, 3) | !Within(id, "eta", eta.Value, 0, KSamplerParameters.MaxFactor)
            | !Within(id, "s_noise", sNoise.Value, 0, KSamplerParameters.MaxFactor))
            return null;
        var erSdeSolver = KSamplerParameters.ErSdeSolvers[ErSdeSolverTypes.IndexOf(solver)];
        var silent = erSdeSolver == "ode" || erSdeSolver == "reverse_time_sde" && eta.Value == 0;
        return [new SamplerValue("er_sde", KSamplerParameters.Default with
        {
            Eta = erSdeSolver == "er_sde" ? KSamplerParameters.Default.Eta : silent ? 0 : eta.Value, SNoise = silent ? 0 : sNoise.Value,
            MaxStage = (int)stage.Value, ErSdeSolver = erSdeSolver,
        })];
    }

    // SamplerER_SDE's solver_type values, in the order of KSamplerParameters.ErSdeSolvers.
    private static readonly List<string> ErSdeSolverTypes = ["ER-SDE", "Reverse-time SDE", "ODE"];

    private ComfyValue[]? BasicScheduler(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var scheduler = Scheduler(id, inputs);
        var steps = Integer(id, inputs, "steps", 20);
        var denoise = Number(id, inputs, "denoise", 1);
        if (model is null || scheduler is null || steps is null || denoise is null) return null;
        if (!Within(id, "steps", steps.Value, 1, 10000) | !Within(id, "denoise", denoise.Value, 0, 1)) return null;
        return [new SigmasValue(scheduler, steps.Value, denoise.Value, null)];
    }

    // KarrasScheduler and ExponentialScheduler: explicit sigmas, computed here as k-diffusion computes them.
    private ComfyValue[]? ExplicitScheduler(string id, JsonObject inputs, bool karras)
    {
        var steps = Integer(id, inputs, "steps", 20);
        var sigmaMax = Number(id, inputs, "sigma_max", 14.614642);
        var sigmaMin = Number(id, inputs, "sigma_min", 0.0291675);
        var rho = karras ? Number(id, inputs, "rho", 7) : 7;
        if (steps is null || sigmaMax is null || sigmaMin is null || rho is null) return null;
        if (!Within(id, "steps", steps.Value, 1, 10000) | !Within(id, "sigma_max", sigmaMax.Value, 0, 5000) | !Within(id, "sigma_min", sigmaMin.Value, 0, 5000)
            | !Within(id, "rho", rho.Value, 0, 100))
            return null;
        var values = karras
            ? SigmaSchedules.Karras(sigmaMin.Value, sigmaMax.Value, (int)steps.Value, rho.Value)
            : SigmaSchedules.Exponential(sigmaMin.Value, sigmaMax.Value, (int)steps.Value);
        // sigma_min at or above sigma_max, a zero sigma_min on the exponential schedule (log 0) or ρ = 0 give no falling schedule.
        var settings = $"sigma_max {Show(sigmaMax.Value)}, sigma_min {Show(sigmaMin.Value)}" + (karras ? $", rho {Show(rho.Value)}" : "");
        return Falling(id, values, settings, "sigma_min") ? [SigmasValue.Explicit(values)] : null;
    }

    // The samplers need finite, non-negative, strictly falling sigmas; explicit ones that are not are the settings' error.
    private bool Falling(string id, float[] values, string settings, string input)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (float.IsFinite(values[i]) && values[i] >= 0 && (i == 0 || values[i] < values[i - 1])) continue;
            Error(id, "value_not_supported", "Value not supported",
                $"{settings} give sigma {i} = {values[i].ToString(CultureInfo.InvariantCulture)}, not a falling, non-negative schedule", input);
            return false;
        }

        return true;
    }

    private static string Show(double value) => value.ToString(CultureInfo.InvariantCulture);

    // AlignYourStepsScheduler: NVIDIA's published levels for the model type, as explicit sigmas.
    private ComfyValue[]? AlignYourStepsScheduler(string id, JsonObject inputs)
    {
        var modelType = Choice(id, inputs, "model_type", "SD1", [.. AlignYourSteps.ModelTypes]);
        var steps = Integer(id, inputs, "steps", 10);
        var denoise = Number(id, inputs, "denoise", 1);
        if (modelType is null || steps is null || denoise is null || !Within(id, "steps", steps.Value, 1, 10000) | !Within(id, "denoise", denoise.Value, 0, 1)) return null;
        var values = AlignYourSteps.Sigmas(modelType, (int)steps.Value, denoise.Value);
        return [SigmasValue.Explicit(values)];
    }

    // SplitSigmas: high = sigmas[:step + 1], low = sigmas[step:]; a schedule by name as a window, or an edit after earlier edits.
    private ComfyValue[]? SplitSigmas(string id, JsonObject inputs)
    {
        var sigmas = Link<SigmasValue>(id, inputs, "sigmas");
        var step = Integer(id, inputs, "step", 0);
        if (sigmas is null || step is null || !Within(id, "step", step.Value, 0, 10000)) return null;
        if (sigmas.Values is { } values)
        {
            var (high, low) = SigmaEdits.Split(values, (int)step.Value);
            return [sigmas with { Values = high }, sigmas with { Values = low }];
        }

        if (sigmas.Edits.Length > 0) return [sigmas.WithEdit($"split {step.Value} high", keepsHigh: true), sigmas.WithEdit($"split {step.Value} low", keepsHigh: false)];
        var middle = sigmas.Start + step.Value;
        return [sigmas with { End = Math.Min(sigmas.End, middle) }, sigmas with { Start = middle }];
    }

    private ComfyValue[]? RandomNoise(string id, JsonObject inputs)
    {
        var seed = Seed(id, inputs, "noise_seed");
        return seed is null ? null : [new NoiseValue(seed.Value, Add: true)];
    }

    private ComfyValue[]? CfgGuider(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var positive = Link<ConditioningValue>(id, inputs, "positive");
        var negative = Link<ConditioningValue>(id, inputs, "negative");
        var cfg = Number(id, inputs, "cfg", 8);
        if (model is null || positive is null || negative is null || cfg is null || !Within(id, "cfg", cfg.Value, 0, 100)) return null;
        return [new GuiderValue(Guide(id, model, positive.Conditioning, negative.Conditioning, cfg.Value), model.SchedulerConfig, [.. InpaintEdges(positive, negative)], model.DifferentialDiffusion) { Checkpoint = model.Checkpoint }];
    }

    // BasicGuider: the conditioning alone; guidance.cfg at scale 1 evaluates the positive half only.
    private ComfyValue[]? BasicGuider(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var conditioning = Link<ConditioningValue>(id, inputs, "conditioning");
        if (model is null || conditioning is null) return null;
        return [new GuiderValue(Guide(id, model, conditioning.Conditioning, conditioning.Conditioning, 1), model.SchedulerConfig, [.. InpaintEdges(conditioning, conditioning)], model.DifferentialDiffusion) { Checkpoint = model.Checkpoint }];
    }

    // PerpNegGuider → unet.denoiser + guidance.perp_neg. ComfyUI also runs RescaleCFG's hook after it; that is a node error
    // here rather than a silent omission.
    private ComfyValue[]? PerpNegGuider(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var positive = Link<ConditioningValue>(id, inputs, "positive");
        var negative = Link<ConditioningValue>(id, inputs, "negative");
        var empty = Link<ConditioningValue>(id, inputs, "empty_conditioning");
        var cfg = Number(id, inputs, "cfg", 8);
        var negScale = Number(id, inputs, "neg_scale", 1);
        if (model is null || positive is null || negative is null || empty is null || cfg is null || negScale is null
            || !Within(id, "cfg", cfg.Value, 0, 100) | !Within(id, "neg_scale", negScale.Value, 0, 100))
            return null;
        if (model.CfgRescale > 0)
        {
            Error(id, "value_not_supported", "Value not supported", "model: RescaleCFG before PerpNegGuider is not supported; remove RescaleCFG or use CFGGuider", "model");
            return null;
        }

        if (model.GuidancePatched)
        {
            Error(id, "value_not_supported", "Value not supported", "model: APG, CFGZeroStar, CFGNorm, PerturbedAttentionGuidance, SelfAttentionGuidance, TCFG, LatentApplyOperationCFG, Mahiro or Epsilon Scaling before PerpNegGuider is not supported; remove them or use CFGGuider", "model");
            return null;
        }

        if (model.IpAdapter is not null)
        {
            Error(id, "value_not_supported", "Value not supported", "model: an IP-Adapter before PerpNegGuider is not supported (the pack picks image or empty tokens by a conditioning's place in ComfyUI's batch, which three conditionings make ambiguous); use CFGGuider", "model");
            return null;
        }

        var denoiser = Add(id, "denoiser", "unet.denoiser", [("unet", model.Unet)], []);
        var guider = Add(id, "guider", "guidance.perp_neg",
            [("denoiser", $"{denoiser}.denoiser"), ("positive", positive.Conditioning), ("negative", negative.Conditioning), ("empty", empty.Conditioning)],
            [("scale", cfg.Value), ("neg_scale", negScale.Value)]);
        return [new GuiderValue($"{guider}.guider", model.SchedulerConfig, [.. InpaintEdges(positive, negative)], model.DifferentialDiffusion) { Checkpoint = model.Checkpoint }];
    }

    private ComfyValue[]? SamplerCustom(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var addNoise = Boolean(id, inputs, "add_noise", true);
        var seed = Seed(id, inputs, "noise_seed");
        var cfg = Number(id, inputs, "cfg", 8);
        var positive = Link<ConditioningValue>(id, inputs, "positive");
        var negative = Link<ConditioningValue>(id, inputs, "negative");
        var sampler = Link<SamplerValue>(id, inputs, "sampler");
        var sigmas = Link<SigmasValue>(id, inputs, "sigmas");
        var latent = Link<LatentValue>(id, inputs, "latent_image");
        if (model is null || addNoise is null || seed is null || cfg is null || positive is null || negative is null || sampler is null || sigmas is null
            || latent is null || !Within(id, "cfg", cfg.Value, 0, 100))
            return null;
        var guider = new GuiderValue(Guide(id, model, positive.Conditioning, negative.Conditioning, cfg.Value), model.SchedulerConfig, [.. InpaintEdges(positive, negative)], model.DifferentialDiffusion) { Checkpoint = model.Checkpoint };
        return CustomSample(id, new NoiseValue(seed.Value, addNoise.Value), guider, sampler, sigmas, latent);
    }

    private ComfyValue[]? SamplerCustomAdvanced(string id, JsonObject inputs)
    {
        var noise = Link<NoiseValue>(id, inputs, "noise");
        var guider = Link<GuiderValue>(id, inputs, "guider");
        var sampler = Link<SamplerValue>(id, inputs, "sampler");
        var sigmas = Link<SigmasValue>(id, inputs, "sigmas");
        var latent = Link<LatentValue>(id, inputs, "latent_image");
        if (noise is null || guider is null || sampler is null || sigmas is null || latent is null) return null;
        return CustomSample(id, noise, guider, sampler, sigmas, latent);
    }

    // One diffusion.ksampler for the pieces. denoised_output is ComfyUI's last x0 estimate; where the sigmas end at 0 the
    // samplers' last step returns that estimate itself, so it is the same latent. Not so for uni_pc (it stops at 0.001), nor
    // dpm_fast and dpm_adaptive (they stop at the last sigma above 0).
    private ComfyValue[]? CustomSample(string id, NoiseValue noise, GuiderValue guider, SamplerValue sampler, SigmasValue sigmas, LatentValue latent)
    {
        // Fewer than two sigmas are no step: ComfyUI's sampler loop does not run, and the latents pass through.
        if (sigmas.Values is { Length: < 2 }) return [latent with { Mask = null }, latent with { Mask = null }];
        if (sigmas.Values is { } explicitValues && RisingSigmas.CheckOrder(explicitValues) is { } order)
        {
            Error(id, "value_not_supported", "Value not supported", "sigmas: " + order, "sigmas");
            return null;
        }

        // Rising sigmas (FlipSigmas: unsampling) only for the samplers whose steps mean something walked upwards.
        if (Rises(sigmas) && RisingSigmas.Check(sampler.Name, sampler.Settings) is { } rising)
        {
            Error(id, "value_not_supported", "Value not supported", "sampler: " + rising, "sampler");
            return null;
        }

        var parameters = new List<(string, object)> { ("seed", SeedLiteral(noise.Seed)), ("add_noise", noise.Add), ("sampler", sampler.Name), ("preview_every", 1L) };
        // The sampler node's settings where they are not KSampler's defaults.
        var (settings, defaults) = (sampler.Settings, KSamplerParameters.Default);
        if (settings.Eta != defaults.Eta) parameters.Add(("eta", settings.Eta));
        if (settings.SNoise != defaults.SNoise) parameters.Add(("s_noise", settings.SNoise));
        if (settings.R != defaults.R) parameters.Add(("r", settings.R));
        if (settings.SolverType != defaults.SolverType) parameters.Add(("solver_type", settings.SolverType));
        if (settings.Order != defaults.Order) parameters.Add(("order", (long)settings.Order));
        if (guider.DifferentialDiffusion > 0) parameters.Add(("differential_diffusion", guider.DifferentialDiffusion));
        if (settings.DpmEta != defaults.DpmEta) parameters.Add(("dpm_eta", settings.DpmEta));
        if (settings.AdaptiveOrder != defaults.AdaptiveOrder) parameters.Add(("adaptive_order", (long)settings.AdaptiveOrder));
        foreach (var (name, value, fallback) in new[]
        {
            ("rtol", settings.Rtol, defaults.Rtol), ("atol", settings.Atol, defaults.Atol), ("h_init", settings.HInit, defaults.HInit),
            ("pcoeff", settings.Pcoeff, defaults.Pcoeff), ("icoeff", settings.Icoeff, defaults.Icoeff), ("dcoeff", settings.Dcoeff, defaults.Dcoeff),
            ("accept_safety", settings.AcceptSafety, defaults.AcceptSafety), ("sde_start_percent", settings.SdeStartPercent, defaults.SdeStartPercent),
            ("sde_end_percent", settings.SdeEndPercent, defaults.SdeEndPercent),
        })
            if (value != fallback) parameters.Add((name, value));
        if (settings.PredictorOrder != defaults.PredictorOrder) parameters.Add(("predictor_order", (long)settings.PredictorOrder));
        if (settings.CorrectorOrder != defaults.CorrectorOrder) parameters.Add(("corrector_order", (long)settings.CorrectorOrder));
        if (settings.UsePece) parameters.Add(("use_pece", true));
        if (settings.SimpleOrder2) parameters.Add(("simple_order2", true));
        if (settings.MaxStage != defaults.MaxStage) parameters.Add(("max_stage", (long)settings.MaxStage));
        if (settings.ErSdeSolver != defaults.ErSdeSolver) parameters.Add(("er_sde_solver", settings.ErSdeSolver));
        parameters.AddRange(ScheduleParameters(sigmas));
        if (sigmas.Values is null) parameters.Add(("drop_penultimate_sigma", false));

        var edges = new List<(string, string)> { ("guider", guider.Guider), ("config", guider.SchedulerConfig), ("latent_image", latent.Latent) };
        if (latent.Mask is not null) edges.Add(("mask", latent.Mask));
        edges.AddRange(guider.InpaintEdges);
        if (PreviewVae(id, guider.Checkpoint) is { } previewVae) edges.Add(("preview_vae", previewVae));
        var node = Add(id, null, "diffusion.ksampler", edges, parameters);
        var output = new LatentValue($"{node}.latent", null);
        ComfyValue denoised = sigmas.EndsAtZero && sampler.Name is not ("uni_pc" or "uni_pc_bh2" or "dpm_fast" or "dpm_adaptive")
            ? output
            : new UnsupportedOutput(sigmas.EndsAtZero
                ? $"denoised_output: {sampler.Name}'s last step is not its last x0 estimate, which FlowDiffusion does not keep apart from the output; use output"
                : "denoised_output: these sigmas stop above 0 and FlowDiffusion does not keep the last x0 estimate apart from the output; use output");
        return [output, denoised];
    }

    // The sigmas as diffusion.ksampler and latent.add_noise take them: explicit, or a schedule by name with its window and edits.
    private static IEnumerable<(string, object)> ScheduleParameters(SigmasValue sigmas)
    {
        if (sigmas.Values is { } values)
        {
            yield return ("sigmas", string.Join(", ", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
            yield break;
        }

        yield return ("scheduler", sigmas.Scheduler!);
        yield return ("steps", sigmas.Steps);
        yield return ("denoise", sigmas.Denoise);
        yield return ("start_step", Math.Min(sigmas.Start, 10000));
        yield return ("end_step", Math.Min(sigmas.End, 10000));
        yield return ("return_with_leftover_noise", !sigmas.EndsAtZero);
        if (sigmas.BetaShape != (0.6, 0.6))
        {
            yield return ("beta_alpha", sigmas.BetaShape.Alpha);
            yield return ("beta_beta", sigmas.BetaShape.Beta);
        }

        if (sigmas.Edits.Length > 0) yield return ("sigma_edits", sigmas.Edits);
    }

    // unet.denoiser + guidance.cfg for a model and its two conditionings.
    private string Guide(string id, ModelValue model, string positive, string negative, double cfg)
    {
        positive = WithIpAdapter(id, model, positive);
        var denoiser = Add(id, "denoiser", "unet.denoiser", [("unet", model.Unet)], []);
        // RescaleCFG, APG, CFGZeroStar or CFGNorm upstream: the guider runs them, and reads the model's prediction type
        // from its scheduler configuration.
        if (model.CfgRescale == 0 && !model.GuidancePatched)
            return $"{Add(id, "guider", "guidance.cfg", [("denoiser", $"{denoiser}.denoiser"), ("positive", positive), ("negative", negative)], [("scale", cfg)])}.guider";
        var parameters = new List<(string, object)> { ("scale", cfg) };
        if (model.CfgRescale > 0) parameters.Add(("rescale", model.CfgRescale));
        parameters.AddRange(GuidancePatchParameters(id, model, cfg));
        var guider = Add(id, "guider", "guidance.cfg", [("denoiser", $"{denoiser}.denoiser"), ("positive", positive), ("negative", negative), ("config", model.SchedulerConfig)],
            [.. parameters]);
        return $"{guider}.guider";
    }

    // RescaleCFG → the multiplier rides on the MODEL to the guidance.cfg nodes of the samplers and guiders it reaches.
    private ComfyValue[]? RescaleCfg(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var multiplier = Number(id, inputs, "multiplier", 0.7);
        if (model is null || multiplier is null || !Within(id, "multiplier", multiplier.Value, 0, 1)) return null;
        return [model with { CfgRescale = multiplier.Value }];
    }

    // DifferentialDiffusion: the strength rides on the MODEL to every sampler it reaches. ComfyUI mixes the binary mask with
    // the soft one only for 0 < strength < 1 ("if strength and strength < 1"), so strength 0 is the binary mask, as 1.
    private ComfyValue[]? DifferentialDiffusion(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var strength = Number(id, inputs, "strength", 1);
        if (model is null || strength is null || !Within(id, "strength", strength.Value, 0, 1)) return null;
        return [model with { DifferentialDiffusion = strength.Value is > 0 and < 1 ? strength.Value : 1 }];
    }

    // ModelSamplingDiscrete → model.sampling on the MODEL's scheduler configuration (eps and v_prediction, zsnr).
    private ComfyValue[]? ModelSamplingDiscrete(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var sampling = Choice(id, inputs, "sampling", "eps", ["eps", "v_prediction", "lcm", "x0", "img_to_img"]);
        var zsnr = Boolean(id, inputs, "zsnr", false);
        if (model is null || sampling is null || zsnr is null) return null;
        if (sampling is not ("eps" or "v_prediction"))
        {
            Error(id, "value_not_in_list", "Value not in list", $"sampling: '{sampling}' is a ComfyUI model sampling FlowDiffusion does not run; supported: eps, v_prediction", "sampling");
            return null;
        }

        var node = Add(id, null, "model.sampling", [("config", model.SchedulerConfig)],
            [("prediction_type", sampling == "eps" ? "epsilon" : "v_prediction"), ("zero_snr", zsnr.Value)]);
        return [model with { SchedulerConfig = $"{node}.result" }];
    }

    // ModelSamplingContinuousEDM → model.sampling_continuous with the EDM timestep (¼·ln σ): eps and v_prediction at
    // σ_data 1, edm at 0.5. edm_playground_v2.5 also swaps the latent format and cosmos_rflow is a flow model: node errors.
    private ComfyValue[]? ModelSamplingContinuousEdm(string id, JsonObject inputs)
    {
        var sampling = Choice(id, inputs, "sampling", "v_prediction", ["v_prediction", "edm", "edm_playground_v2.5", "eps", "cosmos_rflow"]);
        if (sampling is "edm_playground_v2.5" or "cosmos_rflow")
        {
            Error(id, "value_not_in_list", "Value not in list", $"sampling: '{sampling}' is a ComfyUI model sampling FlowDiffusion does not run ({(sampling == "cosmos_rflow" ? "a rectified-flow model" : "Playground v2.5's latent format")}); supported: v_prediction, edm, eps", "sampling");
            return null;
        }

        return ModelSamplingContinuous(id, inputs, "edm", sampling, 120, 0.002);
    }

    // ModelSamplingContinuousV (CosXL) → model.sampling_continuous with the v-diffusion timestep (2/π·atan σ), v_prediction.
    private ComfyValue[]? ModelSamplingContinuousV(string id, JsonObject inputs) =>
        ModelSamplingContinuous(id, inputs, "v", Choice(id, inputs, "sampling", "v_prediction", ["v_prediction"]), 500, 0.03);

    private ComfyValue[]? ModelSamplingContinuous(string id, JsonObject inputs, string schedule, string? sampling, double defaultMax, double defaultMin)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var sigmaMax = Number(id, inputs, "sigma_max", defaultMax);
        var sigmaMin = Number(id, inputs, "sigma_min", defaultMin);
        if (model is null || sampling is null || sigmaMax is null || sigmaMin is null
            || !Within(id, "sigma_max", sigmaMax.Value, 0, 1000) || !Within(id, "sigma_min", sigmaMin.Value, 0, 1000)) return null;
        // ComfyUI takes 0 … 1000 for both, but its log-spaced table needs 0 < sigma_min < sigma_max (else NaN or reversed).
        if (!(sigmaMin.Value > 0) || !(sigmaMax.Value > sigmaMin.Value))
        {
            Error(id, "value_not_supported", "Value not supported", $"sigma_min {sigmaMin.Value.ToString(CultureInfo.InvariantCulture)} and sigma_max {sigmaMax.Value.ToString(CultureInfo.InvariantCulture)}: the sigmas are log-spaced between them, so sigma_min must be above 0 and below sigma_max", "sigma_min");
            return null;
        }

        var node = Add(id, null, "model.sampling_continuous", [("config", model.SchedulerConfig)],
            [("schedule", schedule), ("prediction_type", sampling == "eps" ? "epsilon" : sampling), ("sigma_max", sigmaMax.Value), ("sigma_min", sigmaMin.Value)]);
        return [model with { SchedulerConfig = $"{node}.result" }];
    }

    // A seed input: 0 … 2⁶⁴ − 1, as ComfyUI's (a JSON number, or its digits as a string).
    private ulong? Seed(string id, JsonObject inputs, string name)
    {
        if (!TryWidget(id, inputs, name, "INT", out var value)) return null;
        if (value is null) return 0;
        var text = value is JsonValue v ? v.GetValueKind() switch
        {
            System.Text.Json.JsonValueKind.Number => v.ToJsonString(),
            System.Text.Json.JsonValueKind.String => v.GetValue<string>(),
            _ => null,
        } : null;
        if (text is not null && ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seed)) return seed;
        if (JsonNumbers.Integer(value) is { } whole and >= 0) return (ulong)whole;
        if (JsonNumbers.Number(value) is { } number && number == Math.Floor(number))
        {
            if (number < 0) Error(id, "value_smaller_than_min", "Value smaller than min", $"{name}: {text} is below 0", name);
            else Error(id, "value_bigger_than_max", "Value bigger than max", $"{name}: {text} is above 18446744073709551615", name);
            return null;
        }

        Error(id, "invalid_input_type", "Failed to convert an input value to a INT value", $"{name}: {Describe(value)}", name);
        return null;
    }

    // A seed as the workflow writes it: a long, as integers are everywhere else, unless it is above long's range.
    private static object SeedLiteral(ulong seed) => seed <= long.MaxValue ? (long)seed : seed;

    // A scheduler input: one of ComfyUI's, or a name an extension adds (AYS SD1 …, GITS[coeff=1.2]).
    private string? Scheduler(string id, JsonObject inputs)
    {
        var scheduler = Text(id, inputs, "scheduler", "normal");
        if (scheduler is null || SigmaSchedules.Names.Contains(scheduler) || SigmaSchedules.ExtensionNames.Contains(scheduler)) return scheduler;
        Error(id, "value_not_in_list", "Value not in list",
            $"scheduler: '{scheduler}' is unknown; valid values: {string.Join(", ", SigmaSchedules.Names.Concat(SigmaSchedules.ExtensionNames))}", "scheduler");
        return null;
    }
}
