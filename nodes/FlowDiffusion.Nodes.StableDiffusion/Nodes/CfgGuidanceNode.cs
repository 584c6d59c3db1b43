using FlowDiffusion.Diffusion.Guidance;
using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Diffusion.Schedulers;
using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Classifier-free guidance as a guider value.</summary>
[Node("guidance.cfg", "1.0.0", Category = "sampling", Title = "CFG Guidance",
    Description = "Classifier-free guidance: negative + scale × (positive − negative), both halves in one batch-2 UNet call.")]
public sealed class CfgGuidanceNode : INode
{
    /// <summary>The denoiser.</summary>
    [Input(Description = "The denoiser.")]
    public IDenoiser? Denoiser { get; set; }

    /// <summary>The positive conditioning.</summary>
    [Input(Description = "What to draw.")]
    public Conditioning? Positive { get; set; }

    /// <summary>The negative conditioning.</summary>
    [Input(Description = "What to steer away from (the unconditional half).")]
    public Conditioning? Negative { get; set; }

    /// <summary>The guidance scale.</summary>
    [Parameter(Description = "Guidance scale; 1 disables guidance (the negative is then not evaluated, except for the _cfg_pp samplers, which step with its prediction as ComfyUI's do).", Min = 0, Max = 100, Step = 0.5)]
    public double Scale { get; set; } = 7.5;

    /// <summary>ComfyUI's RescaleCFG multiplier.</summary>
    [Parameter(Description = "Rescale the guided prediction towards the conditional one's standard deviation in v-space (ComfyUI's RescaleCFG multiplier; 0.7 is its default): against the over-saturation of high scales, and what v-prediction and zero-terminal-SNR models want. 0 = off. Needs config.", Min = 0, Max = 1, Step = 0.01, Advanced = true)]
    public double Rescale { get; set; }

    /// <summary>Whether ComfyUI's APG (Adaptive Projected Guidance) patch runs.</summary>
    [Parameter(Description = "Adaptive Projected Guidance (ComfyUI's APG node): the guidance, computed on the x0 estimates, is split into its part along the conditional estimate (weighted by apg_eta) and the rest, optionally averaged over the evaluations (apg_momentum) and capped in length (apg_norm_threshold); the result is conditional + scale × modified guidance. At scale 1 it guides against a zero unconditional estimate, as ComfyUI's does. Needs config.", Advanced = true)]
    public bool Apg { get; set; }

    /// <summary>APG's weight on the guidance's part along the conditional estimate.</summary>
    [Parameter(Description = "APG: the weight of the guidance's part along the conditional estimate (1 keeps it).", Min = -10, Max = 10, Step = 0.01, Advanced = true)]
    public double ApgEta { get; set; } = 1;

    /// <summary>APG's cap on the guidance's length.</summary>
    [Parameter(Description = "APG: the guidance's length over each image is capped at this; 0 = no cap.", Min = 0, Max = 50, Step = 0.1, Advanced = true)]
    public double ApgNormThreshold { get; set; } = 5;

    /// <summary>APG's running-average factor.</summary>
    [Parameter(Description = "APG: running average of the guidance over the evaluations (average = momentum × average + guidance), restarted when sigma rises; 0 = off.", Min = -5, Max = 1, Step = 0.01, Advanced = true)]
    public double ApgMomentum { get; set; }

    /// <summary>Whether ComfyUI's CFGZeroStar patch runs.</summary>
    [Parameter(Description = "CFG-Zero* (ComfyUI's CFGZeroStar node): the unconditional x0 estimate scaled by the optimised factor of each image before guidance. Needs config.", Advanced = true)]
    public bool ZeroStar { get; set; }

    /// <summary>Whether ComfyUI's CFGNorm patch runs.</summary>
    [Parameter(Description = "ComfyUI's CFGNorm node: each pixel of the guided x0 estimate no longer (over the channels) than the conditional one's, then times cfg_norm_strength. Runs after zero_star. Needs config.", Advanced = true)]
    public bool CfgNorm { get; set; }

    /// <summary>CFGNorm's strength.</summary>
    [Parameter(Description = "CFGNorm: the factor on the capped estimate.", Min = 0, Max = 100, Step = 0.01, Advanced = true)]
    public double CfgNormStrength { get; set; } = 1;

    /// <summary>PAG's scale (ComfyUI's PerturbedAttentionGuidance); 0 = off.</summary>
    [Parameter(Description = "Perturbed-attention guidance (ComfyUI's PerturbedAttentionGuidance): the positive is evaluated again, in the same batch, with the UNet's middle-block self-attention replaced by its values, and scale × (positive − perturbed) is added to the guided x0 estimate, after zero_star and before cfg_norm. The negative is then evaluated at scale 1 too. 0 = off. Needs config and a model converted since builder version 9.", Min = 0, Max = 100, Step = 0.1, Advanced = true)]
    public double PagScale { get; set; }

    /// <summary>SAG's scale (ComfyUI's SelfAttentionGuidance); 0 = off.</summary>
    [Parameter(Description = "Self-attention guidance (ComfyUI's SelfAttentionGuidance, whose default scale is 0.5): where the negative's middle-block self-attention is above average, its x0 estimate is blurred (sag_blur_sigma); those latents, re-noised, are predicted again with the negative (a second UNet call), and scale × (blurred − that prediction's x0 estimate) is added to the guided x0 estimate, after pag_scale and before cfg_norm. The negative is then evaluated at scale 1 too; latents of side 4 or less are left unguided by it, as ComfyUI leaves them. One positive and one negative only, not with pag_scale or tcfg. 0 = off. Needs config and a model converted since builder version 12.", Min = -2, Max = 5, Step = 0.01, Advanced = true)]
    public double SagScale { get; set; }

    /// <summary>SAG's blur sigma.</summary>
    [Parameter(Description = "SAG: the sigma of the 9-tap gaussian blur, in latent pixels (ComfyUI's blur_sigma, default 2); above 0.", Min = 0, Max = 10, Step = 0.1, Advanced = true)]
    public double SagBlurSigma { get; set; } = 2;

    /// <summary>The model's scheduler configuration, for the rescale.</summary>
    [Input(Description = "The model's scheduler configuration (its prediction type and noise schedule), which rescale, apg, zero_star, cfg_norm, pag_scale and sag_scale need.", Optional = true)]
    public SchedulerConfigSource? Config { get; set; }

    /// <summary>The guider.</summary>
    [Output(Description = "The guider.")]
    public IGuider? Guider { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        GuidanceRescale? rescale = null;
        GuidanceModelPatches? patches = null;
        if (Apg || ZeroStar || CfgNorm || PagScale > 0 || MorePatches || SagScale != 0)
        {
            if (Config is null) throw new ArgumentException("apg, zero_star, cfg_norm, pag_scale, sag_scale, tcfg, latent_operation, mahiro and epsilon_scaling need the model's scheduler configuration: link config (model.load's scheduler_config)");
            if (Apg && Scale == 0) throw new ArgumentException("apg divides by the scale (ComfyUI gets NaN at 0): use a scale above 0");
            var config = SchedulerConfig.FromJson(Config.Json);
            // A new running average for every execution of the node, restarted as ComfyUI's is whenever sigma rises.
            var apg = Apg ? new ProjectedGuidance(ApgEta, ApgNormThreshold, ApgMomentum) : null;
            patches = new GuidanceModelPatches(new GuidancePatches(ModelPrediction.For(config, "guidance.cfg"), (float)Rescale, apg, ZeroStar, CfgNorm ? CfgNormStrength : null, PagScale)
                {
                    TangentialDamping = Tcfg, LatentOperation = CfgLatentOperation(), Mahiro = Mahiro, EpsilonScalingFactor = EpsilonScalingFactor(), SelfAttention = SelfAttention(),
                }, IModelSampling.For(config));
        }
        else if (Rescale > 0)
        {
            if (Config is null) throw new ArgumentException("rescale needs the model's scheduler configuration: link config (model.load's scheduler_config)");
            rescale = GuidanceRescale.For((float)Rescale, SchedulerConfig.FromJson(Config.Json));
        }

        Guider = new CfgGuider(Denoiser!, Positive!, Negative!, (float)Scale, rescale, patches);
        return Task.CompletedTask;
    }

    // ComfyUI's TCFG, LatentApplyOperationCFG, Mahiro and EpsilonScaling model patches.

    /// <summary>Whether ComfyUI's TCFG patch runs.</summary>
    [Parameter(Description = "Tangential Damping CFG (ComfyUI's TCFG node): the unconditional x0 estimate's score keeps only its part along the first singular direction of the unconditional and conditional scores. Runs before latent_operation and apg; skipped at scale 1, as ComfyUI skips it. Needs config.", Advanced = true)]
    public bool Tcfg { get; set; }

    /// <summary>LatentApplyOperationCFG's operation.</summary>
    [Parameter(Description = "ComfyUI's LatentApplyOperationCFG: the operation runs on the guidance (conditional − unconditional x0 estimate; the conditional estimate itself at scale 1) before apg. Needs config.", Choices = ["none", "tonemap_reinhard", "sharpen"], Advanced = true)]
    public string LatentOperation { get; set; } = "none";

    /// <summary>The tone map's multiplier.</summary>
    [Parameter(Description = "latent_operation tonemap_reinhard: the factor on the compression's knee (5 · std + mean of the lengths).", Min = 0, Max = 100, Step = 0.01, Advanced = true)]
    public double LatentOperationMultiplier { get; set; } = 1;

    /// <summary>The sharpen radius.</summary>
    [Parameter(Description = "latent_operation sharpen: kernel taps on each side of the centre; less than the latents' height and width.", Min = 1, Max = 31, Advanced = true)]
    public int LatentOperationSharpenRadius { get; set; } = 9;

    /// <summary>The sharpen sigma.</summary>
    [Parameter(Description = "latent_operation sharpen: the gaussian's sigma, in units of the radius.", Min = 0.1, Max = 10, Step = 0.1, Advanced = true)]
    public double LatentOperationSigma { get; set; } = 1;

    /// <summary>The sharpen strength.</summary>
    [Parameter(Description = "latent_operation sharpen: the strength.", Min = 0, Max = 5, Step = 0.01, Advanced = true)]
    public double LatentOperationAlpha { get; set; } = 0.1;

    /// <summary>Whether ComfyUI's Mahiro patch runs.</summary>
    [Parameter(Description = "ComfyUI's Mahiro node: the guided x0 estimate mixed with scale × conditional by how alike the unconditional and guided directions are. Runs after cfg_norm. Needs config.", Advanced = true)]
    public bool Mahiro { get; set; }

    /// <summary>ComfyUI's EpsilonScaling factor.</summary>
    [Parameter(Description = "ComfyUI's Epsilon Scaling node: the guided noise (latents − guided x0 estimate) divided by this, against exposure bias; runs last. 1 = off. Needs config.", Min = 0.5, Max = 1.5, Step = 0.001, Advanced = true)]
    public double EpsilonScaling { get; set; } = 1;

    private bool MorePatches => Tcfg || LatentOperation != "none" || Mahiro || EpsilonScaling != 1;

    private Diffusion.LatentOperations.LatentOperation? CfgLatentOperation() =>
        Diffusion.LatentOperations.LatentOperation.Named(LatentOperation, LatentOperationMultiplier, LatentOperationSharpenRadius, LatentOperationSigma, LatentOperationAlpha);

    // ComfyUI's SelfAttentionGuidance, or null at scale 0 (its term is then zero).
    private SelfAttentionGuidance? SelfAttention()
    {
        if (SagScale == 0) return null;
        if (SagScale is < -2 or > 5) throw new ArgumentException($"sag_scale must be -2 … 5 (ComfyUI's range); got {SagScale}");
        if (!(SagBlurSigma > 0 && SagBlurSigma <= 10)) throw new ArgumentException($"sag_blur_sigma must be above 0 and at most 10 (ComfyUI's blur divides by it and gives NaN at 0); got {SagBlurSigma}");
        if (PagScale > 0) throw new ArgumentException("sag_scale with pag_scale is not supported: both replace the middle block's first self-attention (ComfyUI keeps only the patch applied last)");
        if (Tcfg) throw new ArgumentException("sag_scale with tcfg is not supported: TCFG changes the unconditional estimate SAG degrades");
        return new SelfAttentionGuidance(SagScale, SagBlurSigma);
    }

    private double? EpsilonScalingFactor() =>
        EpsilonScaling is >= 0.5 and <= 1.5 ? (EpsilonScaling != 1 ? EpsilonScaling : null) : throw new ArgumentException($"epsilon_scaling must be 0.5 … 1.5; got {EpsilonScaling}");
}
