using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Merges two text encoders weight by weight (ComfyUI's CLIPMergeSimple, CLIPMergeAdd and CLIPMergeSubtract).</summary>
[Node("clip.merge", "1.0.0", Category = "advanced/model_merging", Title = "Merge Text Encoders",
    Description = "Each weight becomes clip1's · strength1 + clip2's · strength2 (SDXL: both towers), each encoder's weights as its handle carries them (a LoRA applied to either is part of them); the position ids and logit scale stay clip1's, as in ComfyUI. ComfyUI's CLIPMergeSimple is strength1 = ratio and strength2 = 1 − ratio, CLIPMergeAdd 1 and 1, CLIPMergeSubtract multiplier and −multiplier. The result keeps clip1's embeddings; the encoders must declare the same weights (names and shapes).")]
public sealed class ClipMergeNode : INode
{
    /// <summary>The first text encoder.</summary>
    [Input(Description = "The text encoder the result is made from: its graph, options, overrides and embeddings come first.")]
    public ITextEncoder? Clip1 { get; set; }

    /// <summary>The second text encoder.</summary>
    [Input(Description = "The text encoder merged in, with the same weights as clip1.")]
    public ITextEncoder? Clip2 { get; set; }

    /// <summary>What clip1's weights are multiplied by.</summary>
    [Parameter(Description = "What clip1's weights are multiplied by.", Min = -10, Max = 10, Step = 0.01)]
    public double Strength1 { get; set; } = 0.5;

    /// <summary>What clip2's weights are multiplied by.</summary>
    [Parameter(Description = "What clip2's weights are multiplied by before they are added.", Min = -10, Max = 10, Step = 0.01)]
    public double Strength2 { get; set; } = 0.5;

    /// <summary>The merged text encoder.</summary>
    [Output(Description = "clip1 with every weight merged.")]
    public ITextEncoder? Merged { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        MergeStrengths.Check("strength1", Strength1);
        MergeStrengths.Check("strength2", Strength2);
        float first = (float)Strength1, second = (float)Strength2;
        (float, float) Strengths(string name) => (first, second);
        Merged = (Clip1, Clip2) switch
        {
            _ when first == 1f && second == 0f => Clip1,
            (OnnxTextEncoder one, OnnxTextEncoder two) =>
                one.WithOverrides(ModelMerge.Overrides(MergeSource.Of(one.Model), MergeSource.Of(two.Model), "clip1", "clip2", textEncoder: true, Strengths)),
            (SdxlTextEncoder one, SdxlTextEncoder two) => MergeSdxl(one, two, Strengths),
            (OnnxTextEncoder or SdxlTextEncoder, OnnxTextEncoder or SdxlTextEncoder) => throw new ArgumentException(
                $"clip2: the models cannot be merged, they differ in architecture: clip1 is {Kind(Clip1)} and clip2 {Kind(Clip2)}. Merge models of one family and size."),
            _ => throw new ArgumentException(
                $"{(Clip1 is OnnxTextEncoder or SdxlTextEncoder ? "clip2" : "clip1")}: this text encoder ({(Clip1 is OnnxTextEncoder or SdxlTextEncoder ? Clip2 : Clip1)?.GetType().Name ?? "none"}) cannot take weight overrides, so it cannot be merged."),
        };
        return Task.CompletedTask;
    }

    private static SdxlTextEncoder MergeSdxl(SdxlTextEncoder one, SdxlTextEncoder two, Func<string, (float, float)> strengths)
    {
        if ((one.First is null) != (two.First is null))
        {
            throw new ArgumentException(
                $"clip2: the models cannot be merged, they differ in architecture: clip1 {(one.First is null ? "has" : "lacks")} SDXL's first tower (CLIP ViT-L) and clip2 {(two.First is null ? "lacks" : "has")} it (an SDXL base and a refiner).");
        }
        var first = one.First is null ? [] : ModelMerge.Overrides(MergeSource.Of(one.First), MergeSource.Of(two.First!), "clip1", "clip2", textEncoder: true, strengths);
        var second = ModelMerge.Overrides(MergeSource.Of(one.Second), MergeSource.Of(two.Second), "clip1", "clip2", textEncoder: true, strengths);
        return one.WithOverrides(first, second);
    }

    private static string Kind(ITextEncoder? encoder) => encoder is SdxlTextEncoder ? "an SDXL text encoder (two towers)" : "an SD 1.x/2.x text encoder (one tower)";
}
