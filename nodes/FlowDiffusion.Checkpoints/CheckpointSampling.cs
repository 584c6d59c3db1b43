using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints;

/// <summary>
/// What a checkpoint's UNet predicts and whether its schedule has zero terminal SNR. Single files cannot say in general,
/// but some carry markers, read here as ComfyUI reads them: an empty tensor named <c>v_pred</c> for v-prediction (NoobAI-XL
/// v-pred and other v-models), and with it <c>ztsnr</c> for a zero-terminal-SNR schedule; an SD 2.x file without them is
/// told 768-v from 512-base by ComfyUI's weight-statistics test.
/// </summary>
/// <param name="PredictionType"><c>epsilon</c> or <c>v_prediction</c>.</param>
/// <param name="ZeroSnr">Whether the schedule is rescaled to zero terminal SNR (diffusers' <c>rescale_betas_zero_snr</c>).</param>
public sealed record CheckpointSampling(string PredictionType, bool ZeroSnr)
{
    /// <summary>The sampling of <paramref name="path"/>: <paramref name="requested"/> (<c>auto</c>, <c>epsilon</c> or
    /// <c>v_prediction</c>), <c>auto</c> resolved from the file's markers (epsilon without them, and for folders).</summary>
    /// <param name="path">A .safetensors checkpoint or a diffusers folder.</param>
    /// <param name="requested">The prediction type asked for.</param>
    public static CheckpointSampling Of(string path, string requested)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (requested is not ("auto" or "epsilon" or "v_prediction"))
            throw new ArgumentException($"prediction type '{requested}' is none of auto, epsilon, v_prediction", nameof(requested));
        if (Directory.Exists(path)) return new(requested == "auto" ? "epsilon" : requested, false);
        using var file = SafetensorsFile.Open(path);
        var vPrediction = file.Tensors.ContainsKey("v_pred") || (requested == "auto" && Sd2VPrediction(file));
        var type = requested == "auto" ? (vPrediction ? "v_prediction" : "epsilon") : requested;
        return new(type, type == "v_prediction" && file.Tensors.ContainsKey("ztsnr"));
    }

    /// <summary>
    /// The sampling of the UNet-only file at <paramref name="path"/> (ComfyUI's UNETLoader): the markers as <see cref="Of"/>
    /// reads them, and without them ComfyUI's SD20 weight-statistics test on the UNet alone, in any of the layouts
    /// <see cref="CheckpointWeights.OpenUNet"/> reads (ComfyUI's UNETLoader runs the same test on the file's UNet keys).
    /// </summary>
    /// <param name="path">A UNet-only .safetensors file.</param>
    /// <param name="requested">The prediction type asked for.</param>
    public static CheckpointSampling OfUNet(string path, string requested)
    {
        var marked = Of(path, requested);
        if (requested != "auto" || marked.PredictionType == "v_prediction")
        {
            return marked;
        }

        using var weights = CheckpointWeights.OpenUNet(path);
        var unet = weights.Part(ModelPart.UNet);
        var sd2 = Architecture.UNetArchitecture.HasLinearProjections(unet) && !unet.ContainsKey("add_embedding.linear_1.weight");
        return sd2 && unet.TryGetValue("conv_in.weight", out var convIn) && unet.TryGetValue(Sd2VBias, out var bias) && Sd2VSpread(convIn.Shape, bias.Tensor.DType, bias.ReadFloat32)
            ? new("v_prediction", false)
            : marked;
    }

    // The tensor ComfyUI's SD20 test reads (output_blocks.11.1.transformer_blocks.0.norm1.bias), by its diffusers name.
    private const string Sd2VBias = "up_blocks.3.attentions.2.transformer_blocks.0.norm1.bias";

    /// <summary>
    /// ComfyUI's SD20 test of an SD 2.x file without markers: 768-v and 512-base share every shape, but the v model's
    /// last transformer's first norm has a bias spread (population standard deviation) above 0.09. Inpainting files
    /// (9 input channels) are epsilon models whatever it says, and a file without that tensor is epsilon.
    /// </summary>
    private static bool Sd2VPrediction(SafetensorsFile file)
    {
        return Sd2Keys.IsSd2(file.Tensors.Keys)
            && file.Tensors.TryGetValue(LdmKeyMap.UNetPrefix + "input_blocks.0.0.weight", out var convIn)
            && file.Tensors.TryGetValue(LdmKeyMap.UNetPrefix + "output_blocks.11.1.transformer_blocks.0.norm1.bias", out var bias)
            && Sd2VSpread(convIn.Shape, bias.DType, () => file.ReadFloat32(bias.Name));
    }

    // The test itself: a latent-only UNet (4 input channels) whose bias has a population standard deviation above 0.09.
    private static bool Sd2VSpread(long[] convIn, SafetensorsDType dtype, Func<float[]> read)
    {
        if (convIn is not [_, 4, _, _] || !SafetensorsDTypes.ConvertsToFloat32(dtype))
        {
            return false;
        }

        var values = read();
        if (values.Length == 0)
        {
            return false;
        }

        var mean = values.Average(v => (double)v);
        return Math.Sqrt(values.Average(v => (v - mean) * (v - mean))) > 0.09;
    }
}
