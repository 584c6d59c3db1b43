using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints;

/// <summary>
/// An SDXL checkpoint (SGM single file: <c>conditioner.embedders.0/1</c>, <c>model.diffusion_model</c>,
/// <c>first_stage_model</c>; or a diffusers folder with <c>text_encoder_2</c>) with its architecture read from the
/// tensors, from which the ONNX graphs are built. Parts the checkpoint lacks are null.
/// </summary>
public sealed class SdxlCheckpoint : IDisposable
{
    /// <summary>The <c>modelspec.architecture</c> of an SDXL refiner's files.</summary>
    public const string RefinerArchitecture = "stable-diffusion-xl-v1-refiner";

    /// <summary>SDXL's VAE latent scaling factor (no tensor records it).</summary>
    public const float ScalingFactor = 0.13025f;

    private SdxlCheckpoint(CheckpointWeights weights, int? textEncoderHeads, int? textEncoder2Heads, int? unetHeadWidth)
    {
        Weights = weights;
        var source = weights.Source;
        UNet = weights.Has(ModelPart.UNet) ? UNetArchitecture.Detect(weights.Part(ModelPart.UNet), source, headWidth: unetHeadWidth) : null;
        if (UNet is { AddedEmbeddingWidth: 0 })
        {
            throw new CheckpointException($"{source}: the UNet has no added embedding (label_emb / add_embedding); it is not an SDXL base UNet.");
        }

        TextEncoder = weights.Has(ModelPart.TextEncoder) ? TextEncoderArchitecture.Detect(weights.Part(ModelPart.TextEncoder), source, textEncoderHeads) : null;
        TextEncoder2 = weights.Has(ModelPart.TextEncoder2) ? TextEncoderArchitecture.Detect(weights.Part(ModelPart.TextEncoder2), source, textEncoder2Heads) : null;
        if (TextEncoder2 is { ProjectionWidth: 0 })
        {
            throw new CheckpointException($"{source}: the second text encoder has no text_projection; SDXL's pooled conditioning needs it.");
        }

        if (UNet is not null && TextEncoder2 is not null && UNet.AddedEmbeddingWidth - TextEncoder2.ProjectionWidth == UNetArchitecture.RefinerTimeIdCount * UNetArchitecture.TimeIdWidth)
        {
            UNet = UNet with { TimeIds = UNetArchitecture.RefinerTimeIdCount };
        }

        if (UNet is not null && TextEncoder2 is not null)
        {
            var context = (TextEncoder?.Width ?? 0) + TextEncoder2.Width;
            if (context != UNet.ContextWidth)
            {
                throw new CheckpointException(TextEncoder is null
                    ? $"{source}: the text encoder's width {TextEncoder2.Width} is not the UNet's context width {UNet.ContextWidth}."
                    : $"{source}: the text encoders' widths {TextEncoder.Width} + {TextEncoder2.Width} do not make the UNet's context width {UNet.ContextWidth}.");
            }

            if (TextEncoder2.ProjectionWidth != UNet.PooledWidth)
            {
                throw new CheckpointException($"{source}: the pooled projection is {TextEncoder2.ProjectionWidth} wide but the UNet's added embedding expects {UNet.PooledWidth}.");
            }
        }

        Vae = weights.Has(ModelPart.Vae) ? VaeArchitecture.Detect(weights.Part(ModelPart.Vae), source) : null;
    }

    /// <summary>
    /// Whether this is an SDXL refiner: OpenCLIP alone (no CLIP ViT-L) and a UNet whose <c>time_ids</c> are original size,
    /// crop and the aesthetic score (five numbers).
    /// </summary>
    public bool IsRefiner => UNet is { TimeIds: UNetArchitecture.RefinerTimeIdCount };

    /// <summary>The tensors by part and canonical name.</summary>
    public CheckpointWeights Weights { get; }

    /// <summary>The UNet's shape, or null when the checkpoint has none.</summary>
    public UNetArchitecture? UNet { get; private set; }


    /// <summary>The first text tower's shape (CLIP ViT-L), or null.</summary>
    public TextEncoderArchitecture? TextEncoder { get; }

    /// <summary>The second text tower's shape (OpenCLIP ViT-bigG with its projection), or null.</summary>
    public TextEncoderArchitecture? TextEncoder2 { get; }

    /// <summary>The VAE's shape, or null when the checkpoint has none.</summary>
    public VaeArchitecture? Vae { get; }

    /// <summary>
    /// The family of the checkpoint at <paramref name="path"/> (a <c>.safetensors</c> file or a diffusers folder), from
    /// its tensor names alone (<see cref="Detect(IEnumerable{string})"/>); a folder is SDXL when it has <c>text_encoder_2</c>,
    /// else SD 1.x (an SD 2.x diffusers folder is told apart when <see cref="Sd1Checkpoint"/> opens it).
    /// </summary>
    public static ModelFamily Detect(string path)
    {
        if (Directory.Exists(path))
        {
            return Directory.Exists(Path.Combine(path, "text_encoder_2")) ? ModelFamily.StableDiffusionXL : ModelFamily.StableDiffusion1;
        }

        using var file = SafetensorsFile.Open(path);
        return Detect(file.Tensors.Keys);
    }

    /// <summary>
    /// The family that single-file tensor names <paramref name="keys"/> belong to: SD 2.x when they hold its OpenCLIP
    /// tower (<see cref="Sd2Keys.TextEncoderPrefix"/>; its unCLIP variant has a class embedding too, and is refused when
    /// opened), else SDXL when they have SDXL's embedders or added embedding, else SD 1.x.
    /// </summary>
    public static ModelFamily Detect(IEnumerable<string> keys)
    {
        var names = keys as IReadOnlyCollection<string> ?? [.. keys];
        return Sd2Keys.IsSd2(names) ? ModelFamily.StableDiffusion2
            : names.Any(k => k.StartsWith("conditioner.embedders.", StringComparison.Ordinal)
                || k.StartsWith(LdmKeyMap.UNetPrefix + "label_emb.", StringComparison.Ordinal)
                || k.StartsWith("add_embedding.", StringComparison.Ordinal))
                ? ModelFamily.StableDiffusionXL
                : ModelFamily.StableDiffusion1;
    }

    /// <summary>
    /// Opens <paramref name="path"/> and reads its architecture. Head counts no tensor shows follow the family's
    /// conventions (64-wide heads in all three networks) unless given.
    /// </summary>
    public static SdxlCheckpoint Open(string path, int? textEncoderHeads = null, int? textEncoder2Heads = null, int? unetHeadWidth = null)
    {
        var weights = CheckpointWeights.Open(path);
        try
        {
            return new SdxlCheckpoint(weights, textEncoderHeads, textEncoder2Heads, unetHeadWidth);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens a UNet-only file (see <see cref="CheckpointWeights.OpenUNet"/>): only <see cref="UNet"/> is set, a refiner's
    /// (five time ids) when <see cref="IsRefinerUNet"/> says so.
    /// </summary>
    public static SdxlCheckpoint OpenUNet(string path, SafetensorsDType? roundTo = null)
    {
        var weights = CheckpointWeights.OpenUNet(path, roundTo);
        try
        {
            var checkpoint = new SdxlCheckpoint(weights, null, null, null);
            if (checkpoint.UNet is { } unet && IsRefinerUNet(path, unet))
            {
                checkpoint.UNet = unet with { TimeIds = UNetArchitecture.RefinerTimeIdCount };
            }

            return checkpoint;
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens SDXL's text towers saved alone: two files in either order (<see cref="CheckpointWeights.OpenSdxlClip"/>,
    /// ComfyUI's DualCLIPLoader) set <see cref="TextEncoder"/> and <see cref="TextEncoder2"/>; one OpenCLIP ViT-bigG file
    /// (<paramref name="second"/> null, ComfyUI's CLIPLoader with a clip_g file) sets <see cref="TextEncoder2"/> alone, the refiner's CLIP.
    /// </summary>
    public static SdxlCheckpoint OpenClip(string first, string? second)
    {
        var weights = second is null ? CheckpointWeights.OpenClip(first, ModelPart.TextEncoder2) : CheckpointWeights.OpenSdxlClip(first, second);
        try
        {
            return new SdxlCheckpoint(weights, null, null, null);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Whether the SDXL UNet saved alone at <paramref name="path"/> is a refiner's, whose added embedding takes five time ids
    /// (the aesthetic score in place of the target size): as its file says (<c>modelspec.architecture</c>
    /// <c>stable-diffusion-xl-v1-refiner</c>, which ComfyUI's ModelSave and model.save write), as ComfyUI's model detection
    /// matches it (384 model channels, 1280-wide context, 2560-wide added embedding; the width alone would also fit a 1024-wide
    /// pooled vector and six ids), or when the added embedding is too narrow for six ids and a pooled vector.
    /// </summary>
    public static bool IsRefinerUNet(string path, UNetArchitecture unet)
    {
        ArgumentNullException.ThrowIfNull(unet);
        using (var file = SafetensorsFile.Open(path))
        {
            if (file.Header.Metadata.TryGetValue("modelspec.architecture", out var architecture))
            {
                return architecture == RefinerArchitecture;
            }
        }

        return (unet.ModelChannels == 384 && unet.ContextWidth == 1280 && unet.AddedEmbeddingWidth == 2560)
            || unet.AddedEmbeddingWidth <= UNetArchitecture.TimeIdCount * UNetArchitecture.TimeIdWidth;
    }

    /// <summary>The UNet graph (<c>sample</c>, <c>timestep</c>, <c>encoder_hidden_states</c>, <c>text_embeds</c>, <c>time_ids</c> → <c>out_sample</c>).</summary>
    public OnnxModel BuildUNet(WeightBinding? binding = null) => UNetGraph.Build(Weights.Part(ModelPart.UNet), Require(UNet), Weights.Source, binding);

    /// <summary>The UNet graph variant that also takes <paramref name="extras"/> (<see cref="UNetGraph.Build"/>).</summary>
    public OnnxModel BuildUNet(UNetExtraInputs extras, WeightBinding? binding = null) => UNetGraph.Build(Weights.Part(ModelPart.UNet), Require(UNet), Weights.Source, binding, extras);

    /// <summary>The UNet graph that also takes ControlNet residuals.</summary>
    public OnnxModel BuildControlledUNet(WeightBinding? binding = null) => BuildUNet(UNetExtraInputs.ControlResiduals, binding);

    /// <summary>
    /// The UNet graph with IP-Adapter inputs: its 70 cross-attention layers (8 in the tiny test model) take
    /// <c>ip_key_n</c>/<c>ip_value_n</c> in the adapter's order; <c>text_embeds</c> and <c>time_ids</c> stay.
    /// </summary>
    public OnnxModel BuildIpAdaptedUNet(WeightBinding? binding = null) => BuildUNet(UNetExtraInputs.IpAdapter, binding);

    /// <summary>The first text tower (CLIP ViT-L, quick GELU); <paramref name="optimumOutputs"/>: every layer's hidden states, as Optimum exports them.</summary>
    public OnnxModel BuildTextEncoder(WeightBinding? binding = null, bool optimumOutputs = false) =>
        SdxlTextEncoderGraph.Build(Weights.Part(ModelPart.TextEncoder), Require(TextEncoder), exactGelu: false, Weights.Source, binding, optimumOutputs);

    /// <summary>The second text tower (OpenCLIP ViT-bigG, exact GELU, <c>text_embeds</c>); <paramref name="optimumOutputs"/> as for the first.</summary>
    public OnnxModel BuildTextEncoder2(WeightBinding? binding = null, bool optimumOutputs = false) =>
        SdxlTextEncoderGraph.Build(Weights.Part(ModelPart.TextEncoder2), Require(TextEncoder2), exactGelu: true, Weights.Source, binding, optimumOutputs);

    /// <summary>The VAE encoder graph.</summary>
    public OnnxModel BuildVaeEncoder(WeightBinding? binding = null) => VaeGraphs.BuildEncoder(Weights.Part(ModelPart.Vae), Require(Vae), Weights.Source, binding);

    /// <summary>The VAE decoder graph.</summary>
    public OnnxModel BuildVaeDecoder(WeightBinding? binding = null) => VaeGraphs.BuildDecoder(Weights.Part(ModelPart.Vae), Require(Vae), Weights.Source, binding);

    /// <inheritdoc />
    public void Dispose() => Weights.Dispose();

    private T Require<T>(T? architecture)
        where T : class => architecture ?? throw new CheckpointException($"{Weights.Source}: the checkpoint lacks this part.");
}
