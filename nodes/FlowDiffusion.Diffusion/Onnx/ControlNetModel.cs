using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A ControlNet ONNX graph (<c>sample</c>, <c>timestep</c> float32 [B], <c>encoder_hidden_states</c>, <c>controlnet_cond</c>
/// [B, 3, H, W] in 0..1 → <c>down_block_0</c> … and <c>mid_block_res_sample</c>), float32 throughout, as the checkpoint
/// builder writes it. Outputs are the unscaled residuals. An SDXL ControlNet also takes the UNet's <c>text_embeds</c>
/// and <c>time_ids</c>; a union ControlNet (ControlNet++) takes <c>control_type</c> [types], the one-hot of its control
/// type (all zeros for "auto").
/// </summary>
public sealed class ControlNetModel
{
    private static readonly TensorElementType[] Float32 = [TensorElementType.Float];
    private readonly ModelSession _model;
    private readonly string[] _outputs;

    private ControlNetModel(ModelSession model)
    {
        _model = model;
        var signature = model.Signature;
        signature.Input("sample", Float32, 4);
        signature.Input("timestep", Float32, 1);
        signature.Input("encoder_hidden_states", Float32, 3);
        signature.Input("controlnet_cond", Float32, 4);
        if (signature.HasInput("text_embeds"))
        {
            signature.Input("text_embeds", Float32, 2);
            signature.Input("time_ids", Float32, 2);
            TakesAddedConditioning = true;
        }

        if (signature.HasInput(ControlTypeInput))
        {
            var declared = signature.Input(ControlTypeInput, Float32, 1);
            UnionTypes = declared.Fixed(0) ?? throw signature.Mismatch($"a fixed number of control types on '{ControlTypeInput}'");
        }

        var downs = Enumerable.Range(0, 64).Select(i => $"down_block_{i}").TakeWhile(signature.HasOutput).ToList();
        if (downs.Count == 0 || !signature.HasOutput("mid_block_res_sample"))
        {
            throw signature.Mismatch("outputs down_block_0 … and mid_block_res_sample (ControlNet residuals)");
        }

        _outputs = [.. downs, "mid_block_res_sample"];
    }

    /// <summary>Opens the graph <paramref name="source"/> describes through <paramref name="cache"/> and checks its inputs and outputs.</summary>
    public static ControlNetModel Open(OnnxSessionCache cache, OnnxModelSource source) => new(new ModelSession(cache, source, "ControlNet"));

    /// <summary>Whether it takes SDXL's added conditioning (<c>text_embeds</c>, <c>time_ids</c>): an SDXL ControlNet.</summary>
    public bool TakesAddedConditioning { get; }

    /// <summary>The input of a union ControlNet's control type.</summary>
    public const string ControlTypeInput = "control_type";

    /// <summary>How many control types a union ControlNet knows (its <c>control_type</c> input's length); 0 for any other.</summary>
    public int UnionTypes { get; }

    /// <summary>
    /// Whether the residuals of the ControlNet file <paramref name="path"/> are averaged over height and width
    /// (<see cref="ControlResidual.PooledGlobally"/>): ComfyUI does it for a file whose name ends in <c>_shuffle</c> or
    /// <c>_shuffle_fp16</c> (before its extension), ControlNet 1.1's shuffle model, whose weights do not say so.
    /// </summary>
    public static bool PoolsGlobally(string path)
    {
        var stem = Path.GetFileNameWithoutExtension(path.TrimEnd(Path.DirectorySeparatorChar));
        return stem.EndsWith("_shuffle", StringComparison.Ordinal) || stem.EndsWith("_shuffle_fp16", StringComparison.Ordinal);
    }

    /// <summary>The model file.</summary>
    public string ModelPath => _model.ModelPath;

    /// <summary>The residual names in output order, the mid one last.</summary>
    public IReadOnlyList<string> Residuals => _outputs;

    /// <summary>Total time spent inside ONNX Runtime's <c>Run</c> for this model.</summary>
    public TimeSpan RunTime => _model.RunTime;

    /// <summary>The residuals for one batched call.</summary>
    /// <param name="sample">The scaled model input [B, C, h, w].</param>
    /// <param name="shape">Its shape.</param>
    /// <param name="timestep">The timestep for every row.</param>
    /// <param name="encoderHiddenStates">[B, tokens, width].</param>
    /// <param name="tokens">The sequence length.</param>
    /// <param name="image">The control image [B, channels, H, W] in 0..1.</param>
    /// <param name="imageShape">Its shape.</param>
    /// <param name="textEmbeds">SDXL's pooled text embedding [B, pooled], or null for an SD 1.x ControlNet.</param>
    /// <param name="timeIds">SDXL's size numbers [B, 6], or null.</param>
    /// <param name="controlType">A union ControlNet's control type (an index below <see cref="UnionTypes"/>), or null for "auto" (and any other ControlNet).</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    public IReadOnlyList<ControlResidual> Predict(
        float[] sample, LatentShape shape, float timestep, float[] encoderHiddenStates, int tokens, float[] image, long[] imageShape,
        float[]? textEmbeds, float[]? timeIds, int? controlType, CancellationToken cancellationToken)
    {
        if (controlType is { } type && (type < 0 || type >= UnionTypes))
        {
            throw new ArgumentException(UnionTypes == 0
                ? $"the ControlNet '{ModelPath}' is not a union ControlNet; it takes no control type"
                : $"the union ControlNet '{ModelPath}' knows control types 0 to {UnionTypes - 1}, not {type}");
        }

        if (TakesAddedConditioning != textEmbeds is not null)
        {
            throw new ArgumentException(TakesAddedConditioning
                ? $"the ControlNet '{ModelPath}' is an SDXL ControlNet; apply it to an SDXL model's conditioning"
                : $"the ControlNet '{ModelPath}' is an SD 1.x ControlNet; an SDXL model needs an SDXL ControlNet");
        }

        var names = new List<string>();
        var values = new List<OrtValue>();
        try
        {
            DenoiserCallInputs.Add(names, values, sample, shape, timestep, encoderHiddenStates, tokens, textEmbeds, timeIds);
            names.Add("controlnet_cond");
            values.Add(OrtValue.CreateTensorValueFromMemory(image, imageShape));
            if (UnionTypes > 0)
            {
                var oneHot = new float[UnionTypes];
                if (controlType is { } index)
                {
                    oneHot[index] = 1;
                }

                names.Add(ControlTypeInput);
                values.Add(OrtValue.CreateTensorValueFromMemory(oneHot, [UnionTypes]));
            }
            using var results = _model.Run([.. names], [.. values], _outputs, cancellationToken);
            return ToResiduals(results);
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }

    private ControlResidual[] ToResiduals(IDisposableReadOnlyCollection<OrtValue> results) =>
        [.. _outputs.Select((name, i) => new ControlResidual(name, results[i].GetTensorDataAsSpan<float>().ToArray(), results[i].GetTensorTypeAndShape().Shape))];
}
