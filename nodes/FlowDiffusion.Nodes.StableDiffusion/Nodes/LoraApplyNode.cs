using FlowDiffusion.Checkpoints.Lora;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Models;
using Microsoft.Extensions.Logging;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>
/// Applies a LoRA to a UNet and a text encoder as weight overrides (model in, model out; the inputs are unchanged);
/// chain nodes to stack LoRAs. Keys that change nothing are named in a warning.
/// </summary>
[Node("lora.apply", "1.3.0", Category = "loaders", Title = "Apply LoRA",
    Description = "Adds a LoRA (kohya lora_unet_/lora_te_, SDXL lora_te1_/lora_te2_, or diffusers/PEFT lora_A/lora_B, lora.down/lora.up; linear, 1×1 and 3×3 LoCon) to the UNet and text encoder: W + strength · alpha/rank · up · down. Chain nodes to stack LoRAs; an empty path passes the models through unchanged.")]
public sealed class LoraApplyNode : INode
{
    private const int NamedInWarning = 20;

    /// <summary>The UNet.</summary>
    [Input(Description = "The UNet to add the LoRA to (model.load's unet, or another lora.apply's).")]
    public IUNetModel? Unet { get; set; }

    /// <summary>The text encoder.</summary>
    [Input(Description = "The text encoder to add the LoRA to; without it the LoRA's text-encoder keys are reported unmatched.", Optional = true)]
    public ITextEncoder? Clip { get; set; }

    /// <summary>The LoRA file.</summary>
    [Parameter(Description = "The LoRA .safetensors file, relative to the working folder (e.g. models/loras/name.safetensors); empty: no LoRA, the models pass through unchanged (a workflow's LoRA slot left free).")]
    public string Path { get; set; } = "";

    /// <summary>The UNet strength.</summary>
    [Parameter(Description = "How strongly the LoRA changes the UNet (0 = not at all, 1 = as trained).", Min = -10, Max = 10, Step = 0.05)]
    public float StrengthModel { get; set; } = 1f;

    /// <summary>The text-encoder strength.</summary>
    [Parameter(Description = "How strongly the LoRA changes the text encoder (0 = not at all, 1 = as trained).", Min = -10, Max = 10, Step = 0.05)]
    public float StrengthClip { get; set; } = 1f;

    /// <summary>The UNet with the LoRA.</summary>
    [Output(Description = "The UNet with the LoRA applied.")]
    public IUNetModel? UnetOut { get; set; }

    /// <summary>The text encoder with the LoRA.</summary>
    [Output(Description = "The text encoder with the LoRA applied. Reading it needs the clip input: without one the node fails, naming both.")]
    public ITextEncoder? ClipOut { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        // Without this, a reader of clip_out fails on the engine's bare "output 'clip_out' was not set".
        if (Clip is null && context.IsOutputUsed("clip_out"))
            throw new ArgumentException("clip_out is connected, but the clip input is not, so there is no text encoder to apply the LoRA to: "
                + "connect one to clip (model.load's clip, or another lora.apply's clip_out), or connect clip_out's readers to a text encoder directly.");
        if (Path.Length == 0)
        {
            UnetOut = Unet;
            ClipOut = Clip;
            return Task.CompletedTask;
        }

        var unet = Unet as IOverridableModel<IUNetModel>
            ?? throw new ArgumentException($"unet: this UNet ({Unet?.GetType().Name ?? "none"}) cannot take weight overrides, so no LoRA can be applied to it.");
        var sdxl = Clip as SdxlTextEncoder;
        var clip = Clip is null || sdxl is not null ? null : Clip as IOverridableModel<ITextEncoder>
            ?? throw new ArgumentException($"clip: this text encoder ({Clip.GetType().Name}) cannot take weight overrides, so no LoRA can be applied to it.");
        var file = PathResolver.Resolve(context, Path);
        if (!File.Exists(file))
        {
            throw new FileNotFoundException($"path: LoRA file '{Path}' not found (looked at {file}).", file);
        }

        // A replaced LoRA file is read again by the next run, not served from the cache.
        context.DependsOn(file);
        var first = sdxl is not null ? sdxl.First?.Weights : clip?.Weights;
        var match = LoraReader.Match(
            file, LoraWeightOverrides.Shapes(unet.Weights), first is null ? null : LoraWeightOverrides.Shapes(first), sdxl is null ? null : LoraWeightOverrides.Shapes(sdxl.Second.Weights));
        var unetModules = match.For(LoraNetwork.UNet).Count();
        var clipModules = match.For(LoraNetwork.TextEncoder).Count() + match.For(LoraNetwork.TextEncoder2).Count();

        // As ComfyUI's LoraLoader, which returns its inputs only when both strengths are 0 (LoraLoaderModelOnly: when
        // strength_model is): a network at strength 0 beside a non-zero one still takes set_weight, which replaces.
        var applies = StrengthModel != 0f || (Clip is not null && StrengthClip != 0f);
        List<WeightOverride> Overrides(LoraNetwork network, float strength) =>
            !applies ? [] : strength != 0f ? [.. LoraWeightOverrides.For(match, network, strength)] : [.. LoraWeightOverrides.Replacements(match, network)];
        var unetOverrides = Overrides(LoraNetwork.UNet, StrengthModel);
        var clipOverrides = Overrides(LoraNetwork.TextEncoder, StrengthClip);
        var clip2Overrides = Overrides(LoraNetwork.TextEncoder2, StrengthClip);
        UnetOut = unetOverrides.Count == 0 ? Unet : unet.WithOverrides(unetOverrides);
        ClipOut = clipOverrides.Count + clip2Overrides.Count == 0 ? Clip
            : sdxl is not null ? sdxl.WithOverrides(clipOverrides, clip2Overrides)
            : clip is not null ? clip.WithOverrides(clipOverrides)
            : Clip;

        var name = System.IO.Path.GetFileName(file);
        var summary = $"{name} ({match.Format}): matched {match.MatchedKeyCount} of {match.KeyCount} keys ({unetModules} UNet, {clipModules} text-encoder weights)";
        if (match.Unmatched.Count == 0)
        {
            context.Logger.LogInformation("{Summary}", summary);
            context.ReportProgress(new NodeProgress(1, summary));
        }
        else
        {
            var named = string.Join("; ", match.Unmatched.Take(NamedInWarning));
            var more = match.Unmatched.Count > NamedInWarning ? $"; and {match.Unmatched.Count - NamedInWarning} more" : "";
            var warning = $"warning: {summary}; {match.Unmatched.Count} unmatched keys not applied: {named}{more}";
            context.Logger.LogWarning("{Warning}", warning);
            context.ReportProgress(new NodeProgress(1, warning));
        }

        return Task.CompletedTask;
    }
}
