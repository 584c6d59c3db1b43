using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A diffusers ONNX CLIP text encoder: <c>input_ids</c> (int32 or int64, [B, S]) → <c>last_hidden_state</c> [B, S, D],
/// and, for CLIP skip 2, <c>penultimate_hidden_state</c> [B, S, D] when the graph has it (graphs built from a checkpoint do).
/// </summary>
public sealed class TextEncoder
{
    /// <summary>
    /// The output carrying the second-to-last layer through the final layer norm (CLIP skip 2 as A1111 and ComfyUI
    /// define it). Graphs built from a checkpoint have it; Optimum's exports do not.
    /// </summary>
    public const string PenultimateOutput = "penultimate_hidden_state";

    /// <summary>The largest CLIP skip any text encoder supports (CLIP ViT-L has 12 layers).</summary>
    public const int ClipSkipLimit = 12;

    private static readonly string[] InputNames = ["input_ids"];

    private readonly ModelSession _model;
    private readonly DeclaredTensor _ids;
    private readonly string[] _outputNames;
    private readonly string[]? _penultimateNames;

    private TextEncoder(ModelSession model)
    {
        _model = model;
        _ids = model.Signature.Input("input_ids", [TensorElementType.Int32, TensorElementType.Int64], 2);
        _outputNames = [model.Signature.Output(["last_hidden_state"], [TensorElementType.Float, TensorElementType.Float16], 3).Name];
        _penultimateNames = model.Signature.HasOutput(PenultimateOutput)
            ? [model.Signature.Output([PenultimateOutput], [TensorElementType.Float, TensorElementType.Float16], 3).Name]
            : null;
        SdxlContextOutput = model.Signature.HasOutput(SdxlHiddenStatesOutput) ? SdxlHiddenStatesOutput : OptimumPenultimate(model.Signature);
    }

    /// <summary>The output of an SDXL tower built by FlowDiffusion that carries its penultimate layer's raw output.</summary>
    public const string SdxlHiddenStatesOutput = "hidden_states";

    /// <summary>
    /// The output an SDXL tower's share of the UNet context comes from: the penultimate layer's output without the final
    /// layer norm. <c>hidden_states</c> in graphs FlowDiffusion builds; in Optimum's exports, which declare every layer
    /// (<c>hidden_states.0</c>, the embeddings, to <c>hidden_states.N</c>, the last layer), <c>hidden_states.{N-1}</c>.
    /// Null when the graph has neither.
    /// </summary>
    public string? SdxlContextOutput { get; }

    /// <summary><see cref="SdxlContextOutput"/>, or an error naming the file when the graph has no such output.</summary>
    /// <exception cref="NotSupportedException">The graph declares no penultimate hidden states.</exception>
    public string RequireSdxlContextOutput() => SdxlContextOutput ?? throw new NotSupportedException(
        $"The text encoder '{ModelPath}' has no penultimate hidden states (an output 'hidden_states', or Optimum's 'hidden_states.0' … 'hidden_states.N'), "
        + "which SDXL conditions on. Export it with its hidden states (Optimum does for SDXL), or load the .safetensors checkpoint.");

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

    /// <summary>
    /// The value weight <paramref name="name"/> has in this model (the graph's own after this model's overrides of it),
    /// read on its own: a merge reads another model's weights one at a time this way.
    /// </summary>
    /// <exception cref="ArgumentException">The graph lacks the weight, or an override yields the wrong type or shape.</exception>
    public FlowDiffusion.Sdk.Models.WeightTensor ReadWeight(string name, CancellationToken cancellationToken = default) => _model.ReadWeight(name, cancellationToken);

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

    /// <summary>The largest CLIP skip this model supports: 2 when it has <see cref="PenultimateOutput"/>, else 1.</summary>
    public int MaxClipSkip => _penultimateNames is null ? 1 : 2;

    /// <summary>Encodes token ids to the last hidden state.</summary>
    /// <param name="ids">The token ids, [batch, S] row-major.</param>
    /// <param name="batch">The number of sequences in <paramref name="ids"/>.</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    /// <returns>The hidden states as float32 [batch, S, D].</returns>
    public FloatTensor Encode(ReadOnlySpan<int> ids, int batch = 1, CancellationToken cancellationToken = default) =>
        Encode(ids, batch, 1, cancellationToken);

    /// <summary>Encodes token ids to the hidden state <paramref name="clipSkip"/> layers from the end, final-normed.</summary>
    /// <param name="ids">The token ids, [batch, S] row-major.</param>
    /// <param name="batch">The number of sequences in <paramref name="ids"/>.</param>
    /// <param name="clipSkip">1 = the last layer (<c>last_hidden_state</c>); 2 = the penultimate layer through the final layer norm.</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    /// <returns>The hidden states as float32 [batch, S, D].</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="clipSkip"/> is outside 1..12.</exception>
    /// <exception cref="NotSupportedException"><paramref name="clipSkip"/> is more than this model supports (<see cref="MaxClipSkip"/>).</exception>
    public FloatTensor Encode(ReadOnlySpan<int> ids, int batch, int clipSkip, CancellationToken cancellationToken = default)
    {
        var outputNames = OutputsFor(clipSkip);
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
        using var results = _model.Run(InputNames, [input.Value], outputNames, cancellationToken);
        return OutputTensors.ToFloat(results[0], ModelPath, outputNames[0]);
    }

    /// <summary>Encodes token ids to the named outputs (an SDXL tower's <c>hidden_states</c> and <c>text_embeds</c>), each as float32.</summary>
    /// <param name="ids">The token ids, [batch, S] row-major.</param>
    /// <param name="batch">The number of sequences in <paramref name="ids"/>.</param>
    /// <param name="outputNames">Outputs the graph declares.</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    /// <exception cref="NotSupportedException">The graph lacks one of <paramref name="outputNames"/>.</exception>
    public FloatTensor[] EncodeOutputs(ReadOnlySpan<int> ids, int batch, IReadOnlyList<string> outputNames, CancellationToken cancellationToken = default)
    {
        foreach (var name in outputNames)
        {
            if (!_model.Signature.HasOutput(name))
            {
                throw new NotSupportedException($"The text encoder '{ModelPath}' has no '{name}' output; an SDXL model folder built by FlowDiffusion (model.load of the .safetensors file) has it.");
            }
        }
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (ids.Length == 0 || ids.Length % batch != 0)
        {
            throw new ArgumentException($"{ids.Length} ids do not split into {batch} sequences.", nameof(ids));
        }
        using var input = new PinnedTensor(_ids.ElementType, [batch, ids.Length / batch]);
        input.Write(ids);
        var names = outputNames.ToArray();
        using var results = _model.Run(InputNames, [input.Value], names, cancellationToken);
        return [.. names.Select((n, i) => OutputTensors.ToFloat(results[i], ModelPath, n))];
    }

    private static string? OptimumPenultimate(ModelSignature signature)
    {
        var last = -1;
        while (last < 1024 && signature.HasOutput($"hidden_states.{last + 1}"))
        {
            last++;
        }

        return last >= 1 ? $"hidden_states.{last - 1}" : null;
    }

    private string[] OutputsFor(int clipSkip)
    {
        if (clipSkip is < 1 or > ClipSkipLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(clipSkip), clipSkip, $"clip_skip must be 1 (the last layer) to {ClipSkipLimit}, not {clipSkip}.");
        }

        if (clipSkip == 1)
        {
            return _outputNames;
        }

        if (clipSkip > 2)
        {
            throw new NotSupportedException($"clip_skip {clipSkip} is not supported: FlowDiffusion's text encoders give the last layer (clip_skip 1) "
                + "and the penultimate layer (clip_skip 2) only.");
        }

        return _penultimateNames ?? throw new NotSupportedException(
            $"The text encoder '{ModelPath}' has no '{PenultimateOutput}' output, so it cannot run clip_skip 2 (the penultimate layer "
            + "through the final layer norm; ONNX exports such as Optimum's carry neither). Import the checkpoint with "
            + "'flowdiffusion import CHECKPOINT.safetensors --out models/NAME' (or load the .safetensors file with model.load) to get clip skip.");
    }
}
