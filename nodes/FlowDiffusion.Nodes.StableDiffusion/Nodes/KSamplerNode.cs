using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Diffusion.Noise;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Diffusion.Schedulers;
using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>
/// ComfyUI's KSampler and KSamplerAdvanced as one node: its sigma schedules, k-diffusion samplers, denoise, step
/// window and noise (torch.randn of the whole latent batch from one generator seeded with the seed, or for latents cut
/// from a batch the items their noise indices name, as ComfyUI's batch_index).
/// </summary>
[Node("diffusion.ksampler", "1.1.0", Category = "sampling", Title = "K-Sampler",
    Description = "Samples the way ComfyUI's KSampler does: a sigma schedule (one of ComfyUI's, or an explicit list) walked by a k-diffusion sampler (the _gpu names run the same formulas; the SDE samplers draw their noise from a Brownian tree seeded with the seed; the _cfg_pp samplers, CFG++, also step with the guider's unconditional prediction, which guidance.cfg then evaluates at cfg 1 too, as ComfyUI does). The starting noise is torch.randn of the latent batch from one generator seeded with the seed (latents cut from a batch by latent.from_batch get the noise they had in the whole batch, as ComfyUI's batch_index); denoise below 1 starts part-way (img2img); a mask repaints only its white part (a 9-channel inpainting UNet also reads the mask, rounded, and latent_image as its masked image, as ComfyUI feeds them); start/end steps and leftover noise as in KSamplerAdvanced. eta, s_noise, r, solver_type and order are the settings of ComfyUI's sampler nodes (SamplerEulerAncestral, SamplerEulerAncestralCFGPP, SamplerDPMPP_2S_Ancestral, SamplerDPMPP_SDE, SamplerDPMPP_2M_SDE, SamplerDPMPP_3M_SDE, SamplerLMS), and dpm_eta to accept_safety SamplerDPMAdaptative's, each read by the samplers it names; their defaults are KSampler's. dpm_fast and dpm_adaptive solve from the first sigma to the last above 0 (leaving that much noise, as ComfyUI): dpm_fast with steps model evaluations, its progress the evaluations made; dpm_adaptive with as many as its error control needs (at most 1000 tries), its progress the schedule's sigmas it has passed. sa_solver and sa_solver_pece (SA-Solver, ComfyUI's SamplerSASolver settings sde_start_percent to simple_order2) read eta (at most 10) as τ inside their SDE window and s_noise; their step noise is the ancestral samplers' (seed + 1).")]
public sealed class KSamplerNode : INode
{
    /// <summary>The guider.</summary>
    [Input(Description = "The guider (e.g. CFG).")]
    public IGuider? Guider { get; set; }

    /// <summary>The model's scheduler configuration (its noise schedule and prediction type).</summary>
    [Input(Description = "The model's scheduler configuration: training betas and prediction type.")]
    public SchedulerConfigSource? Config { get; set; }

    /// <summary>The latents to start from.</summary>
    [Input(Description = "The latents to sample from: zeros (latent.empty) for txt2img, encoded image latents for img2img.")]
    public Latent? LatentImage { get; set; }

    /// <summary>The repaint mask.</summary>
    [Input(Description = "Where to repaint (white), at any resolution; the rest keeps latent_image.", Optional = true)]
    public Mask? Mask { get; set; }

    /// <summary>The masked image a 9-channel inpainting UNet reads.</summary>
    [Input(Description = "For a 9-channel inpainting UNet: the latents of the image with the repaint region blanked (inpaint.prepare's masked_latent; ComfyUI's InpaintModelConditioning). Without it the UNet reads latent_image, as ComfyUI's KSampler feeds it. Other UNets ignore it.", Optional = true)]
    public Latent? MaskedLatent { get; set; }

    /// <summary>A VAE that decodes the live previews.</summary>
    [Input(Description = "Decode the live previews with this VAE (TAESD: ComfyUI's --preview-method taesd, images at full size for about a tenth of a step each) instead of the linear approximation at latent size.", Optional = true)]
    public IVae? PreviewVae { get; set; }

    /// <summary>The mask a 9-channel inpainting UNet reads.</summary>
    [Input(Description = "For a 9-channel inpainting UNet: the mask it reads (rounded to 0 or 1), when it is not the repaint mask (InpaintModelConditioning without noise_mask). Without it the UNet reads mask. Other UNets ignore it.", Optional = true)]
    public Mask? InpaintMask { get; set; }

    /// <summary>The seed.</summary>
    [Parameter(Description = "The noise seed: torch.randn of the whole batch from one generator, as ComfyUI draws it.", Min = 0, Max = 18446744073709551615d, Kind = ParameterKind.Seed)]
    public ulong Seed { get; set; }

    /// <summary>Steps.</summary>
    [Parameter(Description = "Steps of the schedule.", Min = 1, Max = 10000)]
    public int Steps { get; set; } = 20;

    /// <summary>The sampler.</summary>
    [Parameter(Description = "The k-diffusion sampler.", ChoicesFrom = typeof(KSamplerNames))]
    public string Sampler { get; set; } = "euler";

    /// <summary>The sigma schedule.</summary>
    [Parameter(Description = "The sigma schedule: ComfyUI's KSampler schedulers, the names extensions add (AYS SD1, AYS SDXL, AYS SVD, GITS[coeff=1.2]), or sd_turbo (SDTurboScheduler: steps of the timesteps 999, 899 … 99 from 10 − ⌊10 · denoise⌋ on, then 0; it reads denoise itself and ignores drop_penultimate_sigma).", ChoicesFrom = typeof(SigmaScheduleNames))]
    public string Scheduler { get; set; } = "normal";

    /// <summary>The beta schedule's α.</summary>
    [Parameter(Description = "The beta scheduler's α (ComfyUI's BetaSamplingScheduler; KSampler's beta is 0.6). Other schedulers ignore it; above 0.", Min = 0, Max = 50, Step = 0.01, Advanced = true)]
    public double BetaAlpha { get; set; } = 0.6;

    /// <summary>The beta schedule's β.</summary>
    [Parameter(Description = "The beta scheduler's β (0.6 for KSampler's beta). Other schedulers ignore it; above 0.", Min = 0, Max = 50, Step = 0.01, Advanced = true)]
    public double BetaBeta { get; set; } = 0.6;

    /// <summary>Explicit sigmas.</summary>
    [Parameter(Description = "Explicit sigmas, comma-separated: descending, ending in the final sigma (usually 0); or rising from a sigma above 0 (ComfyUI's FlipSigmas: unsampling, for the samplers that can walk them: euler, heun, dpm_2, lms, dpmpp_2m and the other deterministic ones, the ancestral and SDE ones at eta 0). When set they replace scheduler, steps and denoise.", Advanced = true)]
    public string Sigmas { get; set; } = "";

    /// <summary>Edits of the schedule.</summary>
    [Parameter(Description = "ComfyUI's sigma utilities applied in order after start/end step, separated by ';': 'split STEP high|low' (SplitSigmas), 'split_denoise DENOISE high|low' (SplitSigmasDenoise), 'first SIGMA' (SetFirstSigma; the schedule must stay strictly falling or rising), 'flip' (FlipSigmas: reversed, a first 0 made 0.0001). Empty: none.", Advanced = true)]
    public string SigmaEdits { get; set; } = "";

    /// <summary>Denoise.</summary>
    [Parameter(Description = "How much of the schedule to run: 1 from pure noise, below 1 the last steps of a longer schedule (img2img).", Min = 0, Max = 1, Step = 0.01)]
    public double Denoise { get; set; } = 1;

    /// <summary>Whether to add noise.</summary>
    [Parameter(Description = "Add the seeded noise to latent_image (off: continue from latents that already carry noise).")]
    public bool AddNoise { get; set; } = true;

    /// <summary>First step.</summary>
    [Parameter(Description = "The first step of the schedule to run.", Min = 0, Max = 10000)]
    public int StartStep { get; set; }

    /// <summary>Last step.</summary>
    [Parameter(Description = "The step to stop at.", Min = 0, Max = 10000)]
    public int EndStep { get; set; } = 10000;

    /// <summary>Leftover noise.</summary>
    [Parameter(Description = "Stop before sigma 0 when end_step cuts the schedule (to hand the latents to another sampler).")]
    public bool ReturnWithLeftoverNoise { get; set; }

    /// <summary>Whether the schedule follows KSampler's rule for dpm_2 and uni_pc.</summary>
    [Parameter(Description = "As ComfyUI's KSampler: dpm_2, dpm_2_ancestral, uni_pc and uni_pc_bh2 compute the schedule for one step more and drop the sigma before the last. Off: the schedule as computed, as ComfyUI's BasicScheduler gives it to SamplerCustom.", Advanced = true)]
    public bool DropPenultimateSigma { get; set; } = true;

    /// <summary>η.</summary>
    [Parameter(Description = "η, the share of each step's noise drawn fresh: 0 the deterministic step, 1 the full ancestral step (ComfyUI's default); read by euler_ancestral, dpm_2_ancestral, dpmpp_2s_ancestral, dpmpp_sde, dpmpp_2m_sde and dpmpp_3m_sde (and their _gpu/_heun names), euler_ancestral_cfg_pp and dpmpp_2s_ancestral_cfg_pp, by sa_solver as τ inside its SDE window (at most 10 there) and by er_sde with er_sde_solver reverse_time_sde (its noise scaler λ^(η + 1)), ignored by the others.", Min = 0, Max = KSamplerParameters.MaxFactor, Step = 0.01, Advanced = true)]
    public double Eta { get; set; } = 1;

    /// <summary>s_noise.</summary>
    [Parameter(Description = "The factor on each step's fresh noise (s_noise; 1 in ComfyUI's KSampler); read by the samplers that read eta and by er_sde.", Min = 0, Max = KSamplerParameters.MaxFactor, Step = 0.01, Advanced = true)]
    public double SNoise { get; set; } = 1;

    /// <summary>dpmpp_sde's r.</summary>
    [Parameter(Description = "dpmpp_sde's second evaluation point as a fraction of the step in log sigma (0.5, the midpoint, by default); must be above 0 when dpmpp_sde runs. Other samplers ignore it.", Min = 0, Max = KSamplerParameters.MaxFactor, Step = 0.01, Advanced = true)]
    public double R { get; set; } = 0.5;

    /// <summary>dpmpp_2m_sde's solver.</summary>
    [Parameter(Description = "dpmpp_2m_sde's second-order correction: midpoint (ComfyUI's default) or heun (the dpmpp_2m_sde_heun names always use heun). Other samplers ignore it.", Choices = ["midpoint", "heun"], Advanced = true)]
    public string SolverType { get; set; } = "midpoint";

    /// <summary>lms's order.</summary>
    [Parameter(Description = "How many past derivatives lms combines (4 by default; fewer while fewer steps exist). Other samplers ignore it.", Min = 1, Max = KSamplerParameters.MaxOrder, Advanced = true)]
    public int Order { get; set; } = 4;

    /// <summary>η for dpm_fast and dpm_adaptive.</summary>
    [Parameter(Description = "η for dpm_fast and dpm_adaptive: 0 (ComfyUI's default for them) solves deterministically; above 0 each step goes to the ancestral sigma_down and adds sigma_up of fresh noise times s_noise. The schedule needs two sigmas above 0 for it. Other samplers ignore it (they read eta).", Min = 0, Max = KSamplerParameters.MaxFactor, Step = 0.01, Advanced = true)]
    public double DpmEta { get; set; }

    /// <summary>dpm_adaptive's order.</summary>
    [Parameter(Description = "dpm_adaptive's order: 3 (DPM-Solver-23, three model evaluations per try; ComfyUI's default) or 2 (DPM-Solver-12, two). Other samplers ignore it.", Min = 2, Max = 3, Advanced = true)]
    public int AdaptiveOrder { get; set; } = 3;

    /// <summary>dpm_adaptive's rtol.</summary>
    [Parameter(Description = "dpm_adaptive's relative error tolerance per latent element (0.05 by default). Other samplers ignore it.", Min = 0, Max = KSamplerParameters.MaxAdaptiveSetting, Step = 0.01, Advanced = true)]
    public double Rtol { get; set; } = 0.05;

    /// <summary>dpm_adaptive's atol.</summary>
    [Parameter(Description = "dpm_adaptive's absolute error tolerance per latent element (0.0078 by default). Other samplers ignore it.", Min = 0, Max = KSamplerParameters.MaxAdaptiveSetting, Step = 0.01, Advanced = true)]
    public double Atol { get; set; } = 0.0078;

    /// <summary>dpm_adaptive's h_init.</summary>
    [Parameter(Description = "dpm_adaptive's first step in log sigma (0.05 by default); must be above 0 when dpm_adaptive runs. Other samplers ignore it.", Min = 0, Max = KSamplerParameters.MaxAdaptiveSetting, Step = 0.01, Advanced = true)]
    public double HInit { get; set; } = 0.05;

    /// <summary>dpm_adaptive's pcoeff.</summary>
    [Parameter(Description = "dpm_adaptive's step-size controller: the proportional coefficient (0 by default). Other samplers ignore it.", Min = 0, Max = KSamplerParameters.MaxAdaptiveSetting, Step = 0.01, Advanced = true)]
    public double Pcoeff { get; set; }

    /// <summary>dpm_adaptive's icoeff.</summary>
    [Parameter(Description = "dpm_adaptive's step-size controller: the integral coefficient (1 by default). Other samplers ignore it.", Min = 0, Max = KSamplerParameters.MaxAdaptiveSetting, Step = 0.01, Advanced = true)]
    public double Icoeff { get; set; } = 1;

    /// <summary>dpm_adaptive's dcoeff.</summary>
    [Parameter(Description = "dpm_adaptive's step-size controller: the derivative coefficient (0 by default). Other samplers ignore it.", Min = 0, Max = KSamplerParameters.MaxAdaptiveSetting, Step = 0.01, Advanced = true)]
    public double Dcoeff { get; set; }

    /// <summary>dpm_adaptive's accept_safety.</summary>
    [Parameter(Description = "dpm_adaptive accepts a try when its step-size factor reaches this (0.81 by default); the factor is at most 1 + π/2, so more is an error. Other samplers ignore it.", Min = 0, Max = KSamplerParameters.MaxAdaptiveSetting, Step = 0.01, Advanced = true)]
    public double AcceptSafety { get; set; } = 0.81;

    /// <summary>sa_solver's SDE window start.</summary>
    [Parameter(Description = "sa_solver's SDE window: from this fraction of the model's schedule (its sigma by ComfyUI's percent_to_sigma; 0.2 by default) its steps take τ = eta and draw fresh noise; outside the window they solve the ODE. Other samplers ignore it.", Min = 0, Max = 1, Step = 0.001, Advanced = true)]
    public double SdeStartPercent { get; set; } = 0.2;

    /// <summary>sa_solver's SDE window end.</summary>
    [Parameter(Description = "sa_solver's SDE window: up to this fraction of the model's schedule (0.8 by default). Other samplers ignore it.", Min = 0, Max = 1, Step = 0.001, Advanced = true)]
    public double SdeEndPercent { get; set; } = 0.8;

    /// <summary>sa_solver's predictor order.</summary>
    [Parameter(Description = "sa_solver's Adams–Bashforth predictor: how many past x₀ estimates it combines (3 by default; fewer at the start and near a final sigma of 0). Other samplers ignore it.", Min = 1, Max = KSamplerParameters.MaxSaSolverOrder, Advanced = true)]
    public int PredictorOrder { get; set; } = 3;

    /// <summary>sa_solver's corrector order.</summary>
    [Parameter(Description = "sa_solver's Adams–Moulton corrector: how many x₀ estimates it combines (4 by default; 0 turns the corrector off). Other samplers ignore it.", Min = 0, Max = KSamplerParameters.MaxSaSolverOrder, Advanced = true)]
    public int CorrectorOrder { get; set; } = 4;

    /// <summary>sa_solver's PECE mode.</summary>
    [Parameter(Description = "sa_solver evaluates each corrected state again and steps on from that estimate (PECE; one more model call per corrected step); sa_solver_pece always does. Other samplers ignore it.", Advanced = true)]
    public bool UsePece { get; set; }

    /// <summary>sa_solver's simplified order-2 weights.</summary>
    [Parameter(Description = "sa_solver's order-2 steps take the SA-Solver paper's simplified weights (its Appendix D) instead of the exact integrals. Other samplers ignore it.", Advanced = true)]
    public bool SimpleOrder2 { get; set; }

    /// <summary>er_sde's highest stage.</summary>
    [Parameter(Description = "er_sde's highest stage: 3 (ER-SDE-Solver-3, ComfyUI's default), 2 or 1 (the first-order step). Other samplers ignore it.", Min = 1, Max = 3, Advanced = true)]
    public int MaxStage { get; set; } = 3;

    /// <summary>er_sde's solver.</summary>
    [Parameter(Description = "er_sde's noise scaler, ComfyUI's SamplerER_SDE solver_type: er_sde (ER-SDE, the default; eta unread), reverse_time_sde (lambda^(eta + 1); no noise at eta 0) or ode (no noise). Other samplers ignore it.", Choices = ["er_sde", "reverse_time_sde", "ode"], Advanced = true)]
    public string ErSdeSolver { get; set; } = "er_sde";

    /// <summary>ComfyUI's DifferentialDiffusion strength (0 = off).</summary>
    [Parameter(Description = "ComfyUI's DifferentialDiffusion for a soft noise mask: above 0, each evaluation repaints only the pixels whose mask reaches the step's threshold, which falls from 1 at the first sigma to 0 at the last (in the model's timesteps), so a pixel is repainted from the step its mask value names; 1 uses that binary mask, between 0 and 1 mixes it with the soft mask. 0 blends by the soft mask itself. Needs a mask.", Min = 0, Max = 1, Step = 0.01, Advanced = true)]
    public double DifferentialDiffusion { get; set; }

    /// <summary>Preview interval.</summary>
    [Parameter(Description = "Publish a live preview every N steps (0 = none).", Min = 0, Max = 10000)]
    public int PreviewEvery { get; set; }

    /// <summary>The result.</summary>
    [Output(Description = "The sampled latents.")]
    public Latent? Latent { get; set; }

    /// <inheritdoc />
    public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        using var clock = OnnxClock.Attribute(context);
        var config = SchedulerConfig.FromJson(Config!.Json);
        var sampling = IModelSampling.For(config);
        var model = ModelPrediction.For(config, "diffusion.ksampler");
        if (KSamplers.Check(Sampler) is { } samplerError) throw new ArgumentException(samplerError);
        var parameters = new KSamplerParameters(Eta, SNoise, R, SolverType, Order)
        {
            DpmEta = DpmEta, AdaptiveOrder = AdaptiveOrder, Rtol = Rtol, Atol = Atol, HInit = HInit, Pcoeff = Pcoeff, Icoeff = Icoeff, Dcoeff = Dcoeff, AcceptSafety = AcceptSafety,
            SdeStartPercent = SdeStartPercent, SdeEndPercent = SdeEndPercent, PredictorOrder = PredictorOrder, CorrectorOrder = CorrectorOrder, UsePece = UsePece, SimpleOrder2 = SimpleOrder2,
            MaxStage = MaxStage, ErSdeSolver = ErSdeSolver,
        };
        if (parameters.Check(Sampler) is { } parameterError) throw new ArgumentException(parameterError);
        var sigmas = new SamplerSchedule(Sigmas, Scheduler, Steps, Denoise, DropPenultimateSigma, BetaAlpha, BetaBeta, StartStep, EndStep, ReturnWithLeftoverNoise,
            SigmaEdits).Resolve(sampling, Sampler);

        var image = LatentImage!;
        var shape = new LatentShape(image.Batch, image.Channels, image.Height, image.Width);
        // A 9-channel inpainting UNet reads the mask and the masked-image latents after the latents, as ComfyUI feeds them.
        var inpaintingUNet = shape.Channels == 4 && Guider!.InChannels == 9;
        if (!inpaintingUNet && Guider!.InChannels != shape.Channels)
            throw new ArgumentException($"the UNet takes {Guider.InChannels} channels but latent_image has {shape.Channels}; diffusion.ksampler feeds the latents, or for a 9-channel inpainting UNet 4 latent channels with the mask and masked image");
        var latent = image.ToArray();
        if (sigmas.Length < 2)
        {
            Latent = new Latent(shape.Batch, shape.Channels, shape.Height, shape.Width, latent) { NoiseIndices = image.NoiseIndices };
            context.ReportProgress(NodeProgress.OfSteps(0, 0, "nothing to sample"));
            return;
        }

        var noise = AddNoise ? BatchNoise.Draw(Seed, shape, image.NoiseIndices) : new float[shape.Length];
        var sigmaMax = sampling.SigmaMax;
        var maxDenoise = Math.Abs(sigmas[0] - sigmaMax) <= 1e-5 * Math.Max(Math.Abs(sigmas[0]), Math.Abs(sigmaMax)) || sigmas[0] > sigmaMax;
        var start = maxDenoise ? MathF.Sqrt(1 + sigmas[0] * sigmas[0]) : sigmas[0];
        var x = new float[shape.Length];
        for (var i = 0; i < x.Length; i++) x[i] = latent[i] + noise[i] * start;

        var mask = Mask is null ? null : MaskResize.Area(Mask, shape.Batch, shape.Height, shape.Width);
        // ComfyUI's ddim re-noises the kept region with a second stream (seed + 1); the others reuse the starting noise.
        var keepNoise = noise;
        if (mask is not null && Sampler == "ddim")
        {
            keepNoise = new float[shape.Length];
            new TorchGenerator(unchecked(Seed + 1)).FillStandardNormal(keepNoise);
        }

        var evaluation = 0;
        var total = sigmas.Length - 1;
        var releaseAfterLoop = OnnxArenaRelease.AfterLoop(shape);
        var scaled = new float[shape.Length];
        var extra = inpaintingUNet ? ExtraChannels(mask, latent, shape) : null;
        var modelShape = shape with { Channels = Guider!.InChannels };
        var modelInput = extra is null ? scaled : new float[modelShape.Length];
        var differential = mask is not null && DifferentialDiffusion > 0 ? new DifferentialDiffusionMask(mask, sampling, sigmas, DifferentialDiffusion) : null;
        // One guided evaluation: the x₀ estimate, and for a CFG++ sampler the unconditional one from the same model call.
        async ValueTask<CfgDenoised> Evaluate(float[] current, float sigma, bool withUnconditional, CancellationToken token)
        {
            var input = current;
            // ComfyUI's denoise mask function (DifferentialDiffusion) changes the mask of this evaluation's two blends only.
            var stepMask = differential?.At(sigma) ?? mask;
            if (stepMask is not null)
            {
                input = new float[current.Length];
                Blend(current, (i) => latent[i] + keepNoise[i] * sigma, stepMask, shape, input);
            }

            var scale = model.InputScale(sigma);
            for (var i = 0; i < input.Length; i++) scaled[i] = input[i] * scale;
            var t = sampling.TimestepOf(sigma);
            // The evaluation at the schedule's last sigma above its end is the loop's last (Heun's correction of the step
            // before evaluates there too): for large latents its runs hand the UNet's working memory back before the VAE
            // decode needs its own.
            using var release = sigma == sigmas[^2] && releaseAfterLoop ? (IDisposable)OnnxArenaRelease.AfterRuns() : null;
            if (extra is not null) InpaintChannels.Append(scaled, extra, shape, modelInput);
            var guidance = new GuidanceInput(modelInput, modelShape, input, t, sigma, evaluation++, total);
            var guided = withUnconditional ? await Guider.PredictWithUnconditionalAsync(guidance, token) : new GuidedPrediction(await Guider.PredictAsync(guidance, token), null);
            var denoised = model.Denoise(input, guided.Guided, sigma);
            // ComfyUI blends the guided estimate with the kept latents but hands its CFG++ samplers the unconditional one as
            // the model gave it; a guider without one leaves the guided estimate in its place.
            var unconditional = guided.Unconditional is { } raw ? model.Denoise(input, raw, sigma) : denoised;
            if (stepMask is not null) Blend(denoised, i => latent[i], stepMask, shape, denoised);
            return new CfgDenoised(denoised, unconditional);
        }

        async ValueTask OnStep(int step, int steps, float[] current)
        {
            context.ReportProgress(NodeProgress.OfSteps(step, steps));
            if (PreviewEvery <= 0 || step % PreviewEvery != 0 || step >= steps) return;
            // The first item only, as ComfyUI previews x0[:1].
            context.ReportPreview(PreviewVae is { } vae
                ? await vae.DecodeAsync(new Latent(1, shape.Channels, shape.Height, shape.Width, current.AsSpan(0, shape.ItemLength).ToArray()), cancellationToken)
                : LatentRgb.ToImage(current.AsSpan(0, shape.ItemLength), 1, shape.Channels, shape.Height, shape.Width, upscale: 1));
        }

        // ComfyUI's SDE samplers: a Brownian tree over [smallest positive sigma, largest sigma] seeded with the seed.
        SdeNoise? sdeNoise = null;
        if (KSamplers.IsSde(Sampler) && sigmas.Where(s => s > 0).DefaultIfEmpty(0).Min() is var low && sigmas.Max() is var high && high > low)
            sdeNoise = new BrownianTreeNoise(Seed, shape.Length, low, high).Fill;
        // The ancestral samplers' step noise: a second CPU generator seeded with seed + 1, as ComfyUI draws it on the CPU
        // (ComfyUI pull 11528). Seeded with the seed itself, its first draw would repeat the starting noise and leave the
        // image noisy (ComfyUI issue 9819).
        var stepNoise = new TorchGenerator(unchecked(Seed + 1));
        var result = KSamplers.IsCfgPlusPlus(Sampler)
            ? await CfgPlusPlus.SampleAsync(Sampler, x, sigmas, (current, sigma, token) => Evaluate(current, sigma, withUnconditional: true, token), stepNoise, OnStep,
                cancellationToken, parameters)
            : await KSamplers.SampleAsync(Sampler, x, sigmas, async (current, sigma, token) => (await Evaluate(current, sigma, withUnconditional: false, token)).Denoised,
                stepNoise, OnStep, cancellationToken, sdeNoise, parameters, sampling);
        if (mask is not null) Blend(result, i => latent[i], mask, shape, result);
        // ComfyUI's sampled latent is a copy of latent_image's dictionary: it keeps the noise indices for a second pass.
        Latent = new Latent(shape.Batch, shape.Channels, shape.Height, shape.Width, result) { NoiseIndices = image.NoiseIndices };
    }

    // The mask and masked image a 9-channel UNet reads: the inpaint inputs where given, else the repaint mask and latent_image.
    private float[] ExtraChannels(float[]? mask, float[] latent, LatentShape shape)
    {
        var inpaintMask = InpaintMask is null ? mask : MaskResize.Area(InpaintMask, shape.Batch, shape.Height, shape.Width);
        return InpaintChannels.AsComfyUI(inpaintMask, MaskedLatent is null ? latent : LatentBroadcast.To(MaskedLatent, shape, "masked_latent"), shape);
    }

    // destination = mask · value + (1 − mask) · kept(i), per latent element (the mask shared across channels).
    private static void Blend(float[] value, Func<int, float> kept, float[] mask, LatentShape shape, float[] destination)
    {
        var plane = shape.Height * shape.Width;
        for (var i = 0; i < value.Length; i++)
        {
            var m = mask[i / (shape.Channels * plane) * plane + i % plane];
            destination[i] = m * value[i] + (1 - m) * kept(i);
        }
    }
}
