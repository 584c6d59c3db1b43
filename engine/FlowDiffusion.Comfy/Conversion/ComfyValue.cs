using System.Text.Json.Nodes;
using FlowDiffusion.Diffusion.KDiffusion;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// What one ComfyUI output socket carries, as the FlowDiffusion ports that stand for it (<c>node.port</c> sources):
/// ComfyUI's MODEL is our UNet plus the scheduler configuration, its CLIP our text encoder plus tokenizer, and so on.
/// </summary>
internal abstract record ComfyValue(string ComfyType);

/// <summary>
/// The UNet and its scheduler configuration, with the RescaleCFG multiplier and the DifferentialDiffusion strength patches
/// upstream set (0: none), and the APG, CFGZeroStar and CFGNorm patches (null or false: none).
/// </summary>
internal sealed record ModelValue(string Unet, string SchedulerConfig, double CfgRescale = 0, double DifferentialDiffusion = 0, ApgSettings? Apg = null,
    bool CfgZeroStar = false, double? CfgNorm = null, double PagScale = 0) : ComfyValue("MODEL")
{
    /// <summary>The checkpoint file or folder the model was loaded from (null: unknown), which tells SD 1.x from SDXL.</summary>
    public string? Checkpoint { get; init; }

    /// <summary>The IP-Adapter an IPAdapter node patched the model with (null: none), added to the positive of every sampler it reaches.</summary>
    public IpAdapterPatch? IpAdapter { get; init; }

    /// <summary>Whether APG, CFGZeroStar, CFGNorm, PerturbedAttentionGuidance or SelfAttentionGuidance (a non-zero scale) patch the model (or TCFG, LatentApplyOperationCFG, Mahiro, EpsilonScaling).</summary>
    public bool GuidancePatched => Apg is not null || CfgZeroStar || CfgNorm is not null || PagScale > 0 || MoreGuidance.Any || SagScale != 0;

    /// <summary>SelfAttentionGuidance's scale (0: none) and blur sigma.</summary>
    public double SagScale { get; init; }

    /// <summary>SelfAttentionGuidance's blur sigma, in latent pixels.</summary>
    public double SagBlurSigma { get; init; } = 2;

    /// <summary>The TCFG, LatentApplyOperationCFG, Mahiro and EpsilonScaling patches.</summary>
    public MoreGuidancePatches MoreGuidance { get; init; } = MoreGuidancePatches.None;
}

/// <summary>
/// TCFG, LatentApplyOperationCFG's operation, Mahiro and EpsilonScaling's factor on a MODEL (false or null: none).
/// </summary>
internal sealed record MoreGuidancePatches(bool Tcfg = false, LatentOperationValue? LatentOperation = null, bool Mahiro = false, double? EpsilonScaling = null)
{
    /// <summary>No patch.</summary>
    public static MoreGuidancePatches None { get; } = new();

    /// <summary>Whether any patch is set.</summary>
    public bool Any => Tcfg || LatentOperation is not null || Mahiro || EpsilonScaling is not null;
}

/// <summary>
/// LATENT_OPERATION: LatentOperationTonemapReinhard's multiplier or LatentOperationSharpen's radius, sigma and alpha, as
/// latent.operation and guidance.cfg's latent_operation take them.
/// </summary>
internal sealed record LatentOperationValue(string Operation, double Multiplier = 1, long SharpenRadius = 9, double Sigma = 1, double Alpha = 0.1)
    : ComfyValue("LATENT_OPERATION");

/// <summary>An APG node's settings.</summary>
internal sealed record ApgSettings(double Eta, double NormThreshold, double Momentum);

/// <summary>The text encoder and tokenizer, with the CLIP skip a CLIPSetLastLayer upstream chose (1 = the last layer).</summary>
internal sealed record ClipValue(string Clip, string Tokenizer, int ClipSkip = 1) : ComfyValue("CLIP")
{
    /// <summary>
    /// Whether this is an SD 2.x checkpoint's text encoder, converted without OpenCLIP's last layer: its last layer is
    /// ComfyUI's -2 (SD 2's default), its penultimate ComfyUI's -3.
    /// </summary>
    public bool Sd2 { get; init; }
}

internal sealed record VaeValue(string Vae) : ComfyValue("VAE");

/// <summary>
/// A conditioning, with what InpaintModelConditioning attached for 9-channel inpainting UNets (ComfyUI's
/// concat_latent_image and concat_mask); conditioning nodes after it keep them, as ComfyUI's do.
/// </summary>
internal sealed record ConditioningValue(string Conditioning, string? ConcatLatent = null, string? ConcatMask = null) : ComfyValue("CONDITIONING");

/// <summary>Latents with an optional noise mask (SetLatentNoiseMask, VAEEncodeForInpaint).</summary>
internal sealed record LatentValue(string Latent, string? Mask) : ComfyValue("LATENT");

/// <summary>
/// Images (RGB), with the mask (1 − alpha) a JoinImageWithAlpha attached where ComfyUI's IMAGE would have a fourth
/// channel; only SplitImageWithAlpha reads it back.
/// </summary>
internal sealed record ImageValue(string Image, string? Alpha = null) : ComfyValue("IMAGE");

internal sealed record MaskValue(string Mask) : ComfyValue("MASK");

internal sealed record UpscaleModelValue(string Model) : ComfyValue("UPSCALE_MODEL");

internal sealed record ControlNetValue(string ControlNet) : ComfyValue("CONTROL_NET");

/// <summary>
/// CONTROL_NET_WEIGHTS: ComfyUI-Advanced-ControlNet's scaled soft weights (ACN_ScaledSoftControlNetWeights) — residual i
/// of n × base^(n−i) (the middle block's × 1), the unconditional rows' residuals × the uncond multiplier.
/// </summary>
internal sealed record ControlNetWeightsValue(double BaseMultiplier, double UncondMultiplier) : ComfyValue("CONTROL_NET_WEIGHTS");

/// <summary>
/// SAMPLER: a sampler by name with its settings — KSamplerSelect's with k-diffusion's defaults, SamplerEulerAncestral's,
/// SamplerEulerAncestralCFGPP's, SamplerDPMPP_SDE's, SamplerLMS's … with theirs.
/// </summary>
internal sealed record SamplerValue(string Name, KSamplerParameters Settings) : ComfyValue("SAMPLER");

/// <summary>
/// SIGMAS: either a schedule the sampler computes from its model (BasicScheduler's, SDTurboScheduler's or
/// BetaSamplingScheduler's <paramref name="Scheduler"/>, <paramref name="Steps"/> and <paramref name="Denoise"/>; its
/// sigmas are indexed 0 … Steps) cut by SplitSigmas to the indices <paramref name="Start"/> … <paramref name="End"/> and
/// then changed by <see cref="Edits"/>, or explicit <paramref name="Values"/> (KarrasScheduler, GITSScheduler …, and
/// what the sigma utilities made of them).
/// </summary>
internal sealed record SigmasValue(string? Scheduler, long Steps, double Denoise, float[]? Values, long Start = 0, long End = long.MaxValue) : ComfyValue("SIGMAS")
{
    /// <summary>The beta schedule's α and β (BetaSamplingScheduler; KSampler's beta is 0.6 and 0.6).</summary>
    public (double Alpha, double Beta) BetaShape { get; init; } = (0.6, 0.6);

    /// <summary>
    /// The sigma utilities after the window, in <see cref="FlowDiffusion.Diffusion.KDiffusion.SigmaEdits"/>' text (a schedule
    /// by name only: diffusion.ksampler applies them once it has computed the schedule).
    /// </summary>
    public string Edits { get; init; } = "";

    /// <summary>Whether an edit kept a high half, which stops above 0.</summary>
    public bool CutAboveZero { get; init; }

    /// <summary>Explicit sigmas (the schedule fields unused).</summary>
    public static SigmasValue Explicit(float[] values) => new(null, 0, 1, values);

    /// <summary>Whether the last sigma is 0 (no leftover noise).</summary>
    public bool EndsAtZero => Values is null ? End >= Steps && !CutAboveZero : Values.Length > 0 && Values[^1] == 0;

    /// <summary>A schedule by name with one more edit.</summary>
    public SigmasValue WithEdit(string edit, bool keepsHigh) =>
        this with { Edits = Edits.Length == 0 ? edit : $"{Edits}; {edit}", CutAboveZero = CutAboveZero || keepsHigh };
}

/// <summary>NOISE: RandomNoise's seed, or DisableNoise (no starting noise; ComfyUI's empty noise has seed 0).</summary>
internal sealed record NoiseValue(ulong Seed, bool Add) : ComfyValue("NOISE");

/// <summary>
/// GUIDER: a guidance.cfg node's guider, the scheduler configuration of its model, the sampler inputs for what
/// InpaintModelConditioning attached to its conditionings, and its model's DifferentialDiffusion strength.
/// </summary>
internal sealed record GuiderValue(string Guider, string SchedulerConfig, IReadOnlyList<(string Port, string Source)> InpaintEdges, double DifferentialDiffusion = 0)
    : ComfyValue("GUIDER")
{
    /// <summary>The checkpoint of the guider's model (null: unknown), which picks the TAESD of live previews.</summary>
    public string? Checkpoint { get; init; }
}

/// <summary>
/// A value known when the prompt is converted (INT, FLOAT, STRING or BOOLEAN), from PrimitiveInt, StringConcatenate and
/// the like: the widgets it is linked to read it as if it were written in place.
/// </summary>
internal sealed record ConstantValue(string Type, JsonNode Value) : ComfyValue(Type);

/// <summary>CLIP_VISION: a clip_vision.load's encoder.</summary>
internal sealed record ClipVisionValue(string ClipVision) : ComfyValue("CLIP_VISION");

/// <summary>CLIP_VISION_OUTPUT: a clip_vision.encode's embeddings.</summary>
internal sealed record ClipVisionOutputValue(string Embeds) : ComfyValue("CLIP_VISION_OUTPUT");

/// <summary>
/// IPADAPTER: an ipadapter.load's adapter, with the CLIP vision encoder IPAdapterUnifiedLoader's pipeline carries (null
/// from IPAdapterModelLoader).
/// </summary>
internal sealed record IpAdapterValue(string Adapter, string? ClipVision) : ComfyValue("IPADAPTER");

/// <summary>An IPAdapter node's patch of a MODEL: what its ipadapter.apply reads, the comfy node id that made it, and its settings.</summary>
internal sealed record IpAdapterPatch(string ComfyId, string Adapter, string Embeds, string? Negative, double Weight, double Start, double End,
    string WeightType, string Combine, string EmbedsScaling);
