using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints;

/// <summary>
/// An SD 1.x or SD 2.x checkpoint (LDM single file or diffusers folder) with its architecture read from the tensors, from
/// which the four ONNX graphs of a diffusers-ONNX folder are built. Parts the checkpoint lacks (a UNet-only file) are null.
/// SD 2.x is told by its UNet's linear transformer projections or its OpenCLIP text tower; its UNet takes 64-wide heads
/// and its text encoder exact GELU.
/// </summary>
public sealed class Sd1Checkpoint : IDisposable
{
    private Sd1Checkpoint(CheckpointWeights weights, int? textEncoderHeads, int unetHeads, int? unetHeadWidth)
    {
        Weights = weights;
        var source = weights.Source;
        if (weights.Has(ModelPart.TextEncoder2) || (weights.Has(ModelPart.UNet) && weights.Part(ModelPart.UNet).ContainsKey("add_embedding.linear_1.weight")))
        {
            throw new CheckpointException($"{source}: this is an SDXL checkpoint (second text encoder or added UNet embedding); open it as SDXL ({nameof(SdxlCheckpoint)}).");
        }

        var linearUNet = weights.Has(ModelPart.UNet) && UNetArchitecture.HasLinearProjections(weights.Part(ModelPart.UNet));
        if (weights.OpenClipTextEncoder && weights.Has(ModelPart.UNet) && !linearUNet)
        {
            throw new CheckpointException($"{source}: the text encoder is SD 2.x's OpenCLIP tower but the UNet projects with convolutions as SD 1.x's; the file mixes two families.");
        }

        Family = linearUNet || weights.OpenClipTextEncoder ? ModelFamily.StableDiffusion2 : ModelFamily.StableDiffusion1;
        var sd2HeadWidth = Family == ModelFamily.StableDiffusion2 ? unetHeadWidth ?? UNetArchitecture.ConventionalSd2HeadWidth : (int?)null;
        UNet = weights.Has(ModelPart.UNet) ? UNetArchitecture.Detect(weights.Part(ModelPart.UNet), source, unetHeads, sd2HeadWidth) : null;
        TextEncoder = weights.Has(ModelPart.TextEncoder) ? TextEncoderArchitecture.Detect(weights.Part(ModelPart.TextEncoder), source, textEncoderHeads) : null;
        Vae = weights.Has(ModelPart.Vae) ? VaeArchitecture.Detect(weights.Part(ModelPart.Vae), source) : null;
        if (Family == ModelFamily.StableDiffusion2 && UNet is not null && TextEncoder is not null && TextEncoder.Width != UNet.ContextWidth)
        {
            throw new CheckpointException($"{source}: the text encoder's width {TextEncoder.Width} is not the UNet's context width {UNet.ContextWidth}.");
        }
    }

    /// <summary>The tensors by part and canonical name.</summary>
    public CheckpointWeights Weights { get; }

    /// <summary><see cref="ModelFamily.StableDiffusion1"/> or <see cref="ModelFamily.StableDiffusion2"/>.</summary>
    public ModelFamily Family { get; }

    /// <summary>The UNet's shape, or null when the checkpoint has none.</summary>
    public UNetArchitecture? UNet { get; }

    /// <summary>The text encoder's shape, or null when the checkpoint has none.</summary>
    public TextEncoderArchitecture? TextEncoder { get; }

    /// <summary>The VAE's shape, or null when the checkpoint has none.</summary>
    public VaeArchitecture? Vae { get; }

    /// <summary>
    /// Opens <paramref name="path"/> (a <c>.safetensors</c> file or a diffusers folder) and reads its architecture.
    /// Head counts no tensor shows follow the family's conventions unless given: <paramref name="unetHeads"/> heads in
    /// an SD 1.x UNet, heads <paramref name="unetHeadWidth"/> wide in an SD 2.x one (64 unless given).
    /// </summary>
    public static Sd1Checkpoint Open(string path, int? textEncoderHeads = null, int unetHeads = UNetArchitecture.ConventionalHeads, int? unetHeadWidth = null)
    {
        var weights = CheckpointWeights.Open(path);
        try
        {
            return new Sd1Checkpoint(weights, textEncoderHeads, unetHeads, unetHeadWidth);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <summary>Opens a standalone VAE (see <see cref="CheckpointWeights.OpenVae"/>): only <see cref="Vae"/> is set.</summary>
    public static Sd1Checkpoint OpenVae(string path)
    {
        var weights = CheckpointWeights.OpenVae(path);
        try
        {
            return new Sd1Checkpoint(weights, null, UNetArchitecture.ConventionalHeads, null);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens a CLIP text tower saved alone (see <see cref="CheckpointWeights.OpenClip"/>): only <see cref="TextEncoder"/> is
    /// set; an OpenCLIP ViT-H tower (<see cref="CheckpointWeights.IsViTHClip"/>) is SD 2.x's (<see cref="CheckpointWeights.OpenSd2Clip"/>).
    /// </summary>
    public static Sd1Checkpoint OpenClip(string path)
    {
        var weights = CheckpointWeights.IsViTHClip(path) ? CheckpointWeights.OpenSd2Clip(path) : CheckpointWeights.OpenClip(path);
        try
        {
            return new Sd1Checkpoint(weights, null, UNetArchitecture.ConventionalHeads, null);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <summary>Opens a UNet-only file (see <see cref="CheckpointWeights.OpenUNet"/>): only <see cref="UNet"/> is set.</summary>
    public static Sd1Checkpoint OpenUNet(string path, SafetensorsDType? roundTo = null)
    {
        var weights = CheckpointWeights.OpenUNet(path, roundTo);
        try
        {
            return new Sd1Checkpoint(weights, null, UNetArchitecture.ConventionalHeads, null);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <summary>The UNet graph; weights embedded unless <paramref name="binding"/> says otherwise.</summary>
    public OnnxModel BuildUNet(WeightBinding? binding = null) => UNetGraph.Build(Weights.Part(ModelPart.UNet), Require(UNet), Weights.Source, binding);

    /// <summary>The UNet graph variant that also takes <paramref name="extras"/> (<see cref="UNetGraph.Build"/>).</summary>
    public OnnxModel BuildUNet(UNetExtraInputs extras, WeightBinding? binding = null) => UNetGraph.Build(Weights.Part(ModelPart.UNet), Require(UNet), Weights.Source, binding, extras);

    /// <summary>The UNet graph that also takes ControlNet residuals.</summary>
    public OnnxModel BuildControlledUNet(WeightBinding? binding = null) => BuildUNet(UNetExtraInputs.ControlResiduals, binding);

    /// <summary>The UNet graph with IP-Adapter decoupled cross-attention inputs.</summary>
    public OnnxModel BuildIpAdaptedUNet(WeightBinding? binding = null) => BuildUNet(UNetExtraInputs.IpAdapter, binding);

    /// <summary>The text encoder graph (last, pooled and penultimate outputs; SD 2.x's OpenCLIP tower with exact GELU).</summary>
    public OnnxModel BuildTextEncoder(WeightBinding? binding = null) =>
        TextEncoderGraph.Build(Weights.Part(ModelPart.TextEncoder), Require(TextEncoder), Weights.Source, binding, exactGelu: Family == ModelFamily.StableDiffusion2);

    /// <summary>The VAE encoder graph.</summary>
    public OnnxModel BuildVaeEncoder(WeightBinding? binding = null) => VaeGraphs.BuildEncoder(Weights.Part(ModelPart.Vae), Require(Vae), Weights.Source, binding);

    /// <summary>The VAE decoder graph.</summary>
    public OnnxModel BuildVaeDecoder(WeightBinding? binding = null) => VaeGraphs.BuildDecoder(Weights.Part(ModelPart.Vae), Require(Vae), Weights.Source, binding);

    /// <inheritdoc />
    public void Dispose() => Weights.Dispose();

    private T Require<T>(T? architecture)
        where T : class => architecture ?? throw new CheckpointException($"{Weights.Source}: the checkpoint lacks this part.");
}
