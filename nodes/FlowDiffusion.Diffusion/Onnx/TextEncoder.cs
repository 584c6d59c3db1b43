using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A diffusers ONNX CLIP text encoder: <c>input_ids</c> (int32 or int64, [B, S]) → <c>last_hidden_state</c> [B, S, D].
/// </summary>
public sealed class TextEncoder
{
    private static readonly string[] InputNames = ["input_ids"];

    private readonly ModelSession _model;
    private readonly DeclaredTensor _ids;
    private readonly string[] _outputNames;

    private TextEncoder(ModelSession model)
    {
        _model = model;
        _ids = model.Signature.Input("input_ids", [TensorElementType.Int32, TensorElementType.Int64], 2);
        _outputNames = [model.Signature.Output(["last_hidden_state"], [TensorElementType.Float, TensorElementType.Float16], 3).Name];
    }

    /// <summary>Opens the text encoder at <paramref name="modelPath"/> through <paramref name="cache"/> and checks its inputs.</summary>
    /// <param name="cache">The host's session cache.</param>
    /// <param name="modelPath">Usually <c>text_encoder/model.onnx</c> of a model folder.</param>
    /// <param name="options">Session options; CPU when omitted.</param>
    /// <exception cref="ModelMismatchException">The model lacks <c>input_ids</c> or <c>last_hidden_state</c> of a usable type.</exception>
    public static TextEncoder Open(OnnxSessionCache cache, string modelPath, OnnxSessionOptions? options = null) =>
        Open(cache, new OnnxModelSource(modelPath, options));

    /// <summary>Opens the model <paramref name="source"/> describes (file, weight overrides, options) through <paramref name="cache"/>.</summary>
    /// <param name="cache">The host's session cache.</param>
    /// <param name="source">The model description.</param>
    public static TextEncoder Open(OnnxSessionCache cache, OnnxModelSource source) =>
        new(new ModelSession(cache, source, "text encoder"));

    /// <summary>The description the sessions are created from.</summary>
    public OnnxModelSource Source => _model.Source;

    /// <summary>The weights the graph declares (what overrides may name).</summary>
    public IReadOnlyList<FlowDiffusion.Sdk.Models.WeightInfo> Weights => _model.Weights;

    /// <summary>
    /// The same model with <paramref name="overrides"/> bound after this one's; no session is created until the new
    /// one first runs, and this one is unchanged.
    /// </summary>
    /// <exception cref="ArgumentException">An override names a weight the graph lacks.</exception>
    public TextEncoder WithOverrides(IEnumerable<FlowDiffusion.Sdk.Models.WeightOverride> overrides) => new(_model.WithOverrides(overrides));

    /// <summary>The model file.</summary>
    public string ModelPath => _model.ModelPath;

    /// <summary>The element type the export declares for <c>input_ids</c> (int32 or int64).</summary>
    public TensorElementType IdsType => _ids.ElementType;

    /// <summary>The sequence length the export fixes (77 for SD 1.x), or null when it is dynamic.</summary>
    public int? SequenceLength => _ids.Fixed(1);

    /// <summary>Total time spent inside ONNX Runtime's <c>Run</c> for this model.</summary>
    public TimeSpan RunTime => _model.RunTime;

    /// <summary>The number of model evaluations.</summary>
    public int RunCount => _model.RunCount;

    /// <summary>Encodes token ids to the last hidden state.</summary>
    /// <param name="ids">The token ids, [batch, S] row-major.</param>
    /// <param name="batch">The number of sequences in <paramref name="ids"/>.</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    /// <returns>The hidden states as float32 [batch, S, D].</returns>
    public FloatTensor Encode(ReadOnlySpan<int> ids, int batch = 1, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (ids.Length == 0 || ids.Length % batch != 0)
        {
            throw new ArgumentException($"{ids.Length} ids do not split into {batch} sequences.", nameof(ids));
        }
        var sequence = ids.Length / batch;
        if (SequenceLength is { } fixedLength && fixedLength != sequence)
        {
            throw new ArgumentException($"The text encoder '{ModelPath}' takes sequences of {fixedLength} tokens, not {sequence}.", nameof(ids));
        }
        using var input = new PinnedTensor(_ids.ElementType, [batch, sequence]);
        input.Write(ids);
        using var results = _model.Run(InputNames, [input.Value], _outputNames, cancellationToken);
        return OutputTensors.ToFloat(results[0], ModelPath, _outputNames[0]);
    }
}
