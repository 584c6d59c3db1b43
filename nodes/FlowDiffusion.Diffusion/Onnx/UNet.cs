using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A diffusers ONNX UNet (<c>sample</c>, <c>timestep</c>, <c>encoder_hidden_states</c> → <c>out_sample</c>), fed in
/// float32 and converted to whatever the export declares: fp16 sample and hidden states, and a timestep that is
/// int64 [B] (older exports), float32 or float16 [B], or a float32 scalar (optimum ≥ 1.24). SDXL UNets also take
/// <c>text_embeds</c> and <c>time_ids</c>; LCM-distilled UNets take <c>timestep_cond</c> [B, time_cond_proj_dim], the
/// guidance-scale embedding (<see cref="Schedulers.GuidanceScaleEmbedding"/>).
/// </summary>
/// <remarks>
/// Input and output buffers are pinned and reused while the shapes stay the same, so a sampling loop allocates
/// once. Calls on one instance at the same time (two runs sampling with one model) each take a set of buffers of their
/// own, so they wait for nothing here: on a CPU they take turns (<see cref="FlowDiffusion.Sdk.CpuTurns"/>), the oldest
/// run first. The session itself is leased from the cache for each call. On a GPU
/// provider the buffers are bound to the session with ONNX Runtime's I/O binding (<see cref="UNetBinding"/>), so the
/// conditioning is copied to the device when it changes rather than on every step; the latents and the prediction
/// still cross between host and device each step, as the samplers' arithmetic runs on the host.
/// </remarks>
public sealed class UNet : IDisposable
{
    // As many idle buffer sets as runs that sample with one model at once in practice; a set is the latents, the
    // conditioning and the prediction of one call (under 2 MB for SDXL at 1024², batch 2).
    private const int MaxIdleBuffers = 4;
    private static readonly TensorElementType[] FloatTypes = [TensorElementType.Float, TensorElementType.Float16];
    private static readonly string[] InputNames = ["sample", "timestep", "encoder_hidden_states"];

    private readonly ModelSession _model;
    private readonly DeclaredTensor _sample;
    private readonly DeclaredTensor _timestep;
    private readonly DeclaredTensor _hiddenStates;
    private readonly DeclaredTensor _output;
    private readonly DeclaredTensor? _textEmbeds;
    private readonly DeclaredTensor? _timeIds;
    private readonly DeclaredTensor? _timestepCond;
    private readonly DeclaredTensor? _pagMask;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly object _gate = new();
    private int _generation;
    private readonly int? _declaredChannels;
    // Whether the session runs on ONNX Runtime's CPU provider, which reads host buffers where they are.
    private readonly bool _onCpu;
    // Buffer sets no call is using, the most recently returned last; at most MaxIdleBuffers of them.
    private readonly List<StepBuffers> _idle = [];
    private int _bufferAllocations;
    private int _conditioningBinds;

    private UNet(ModelSession model)
    {
        _model = model;
        var signature = model.Signature;
        _sample = signature.Input("sample", FloatTypes, 4);
        _timestep = signature.Input("timestep", [TensorElementType.Int64, TensorElementType.Float, TensorElementType.Float16, TensorElementType.Int32], 0, 1);
        _hiddenStates = signature.Input("encoder_hidden_states", FloatTypes, 3);
        _output = signature.Output(["out_sample"], FloatTypes, 4);
        _outputNames = [_output.Name];
        // SDXL's added conditioning: the pooled text embedding [B, P] and the six size numbers [B, 6].
        var added = signature.OtherInputs(InputNames).Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        if (added.Contains("text_embeds") && added.Contains("time_ids"))
        {
            _textEmbeds = signature.Input("text_embeds", FloatTypes, 2);
            _timeIds = signature.Input("time_ids", FloatTypes, 2);
        }
        // An LCM-distilled UNet's guidance-scale embedding [B, time_cond_proj_dim]; the width must be fixed to embed into it.
        if (added.Contains("timestep_cond"))
        {
            _timestepCond = signature.Input("timestep_cond", FloatTypes, 2);
            if (_timestepCond.Fixed(1) is null)
            {
                throw signature.Mismatch($"a fixed embedding width in 'timestep_cond' (time_cond_proj_dim), but it is declared as {_timestepCond}");
            }
        }
        // PAG's optional row mask (builder version 9) is always fed where the graph has it: zeros unless a call gives one.
        _pagMask = signature.OptionalInputs.FirstOrDefault(i => i.Name == UNetVariant.PagMaskInput && FloatTypes.Contains(i.ElementType) && i.Rank == 1);
        _inputNames = [.. InputNames, .. _textEmbeds is null ? Array.Empty<string>() : ["text_embeds", "time_ids"], .. _timestepCond is null ? Array.Empty<string>() : ["timestep_cond"],
            .. _pagMask is null ? Array.Empty<string>() : [_pagMask.Name]];
        if (signature.OtherInputs(_inputNames) is { Count: > 0 } extra)
        {
            throw signature.Mismatch(
                $"only sample, timestep and encoder_hidden_states, but it also takes {string.Join(", ", extra.Select(Describe))}: "
                + "FlowDiffusion's SD 1.x UNet does not feed these inputs yet; use a plain SD 1.x export");
        }
        TakesFreeU = signature.OptionalInputs.Any(i => i.Name == FreeUFactors.VersionInput);
        TakesDeepShrink = signature.OptionalInputs.Any(i => i.Name == DeepShrink.BlockInput);
        TakesHyperTile = signature.OptionalInputs.Any(i => i.Name == HyperTile.TilesInput);
        TakesTokenMerge = signature.OptionalInputs.Any(i => i.Name == TokenMerge.OrderInput);
        _declaredChannels = _sample.Fixed(1) ?? FirstConvolutionInputChannels(model.File);
        _onCpu = ExecutionProviders.Normalize(model.Options.Provider) == "cpu";
        BindsInputs = !_onCpu;
    }

    // What an extra input is for, in the words of the model families that add one.
    private static string Describe(DeclaredTensor input) => input.Name switch
    {
        "timestep_cond" => $"'{input}' (an LCM-distilled UNet's guidance embedding)",
        "text_embeds" or "time_ids" => $"'{input}' (an SDXL UNet's added conditioning)",
        var n when n.Contains("down_block", StringComparison.Ordinal) || n.Contains("mid_block", StringComparison.Ordinal) || n.Contains("residual", StringComparison.Ordinal)
            => $"'{input}' (ControlNet residuals)",
        _ => $"'{input}'",
    };

    // The input channels of the first convolution's weight [out, in, k, k]: what a dynamic channel axis hides
    // (9 for an inpainting UNet).
    private static int? FirstConvolutionInputChannels(OnnxModelFile file)
    {
        foreach (var node in file.Nodes)
        {
            if (node.OpType == "Conv" && node.Domain.Length == 0 && node.Inputs.Count > 1
                && file.Initializer(node.Inputs[1]) is { Shape.Count: 4 } weight && weight.Shape[1] > 0)
            {
                return (int)weight.Shape[1];
            }
        }
        return null;
    }

    /// <summary>Opens the UNet at <paramref name="modelPath"/> through <paramref name="cache"/> and checks its inputs.</summary>
    /// <param name="cache">The host's session cache.</param>
    /// <param name="modelPath">Usually <c>unet/model.onnx</c> of a model folder.</param>
    /// <param name="options">Session options; CPU when omitted.</param>
    /// <exception cref="ModelMismatchException">An input is missing or has an unsupported type or rank.</exception>
    public static UNet Open(OnnxSessionCache cache, string modelPath, OnnxSessionOptions? options = null) =>
        Open(cache, new OnnxModelSource(modelPath, options));

    /// <summary>Opens the model <paramref name="source"/> describes (file, weight overrides, options) through <paramref name="cache"/>.</summary>
    /// <param name="cache">The host's session cache.</param>
    /// <param name="source">The model description.</param>
    public static UNet Open(OnnxSessionCache cache, OnnxModelSource source) =>
        new(new ModelSession(cache, source, "UNet"));

    /// <summary>The description the sessions are created from.</summary>
    public OnnxModelSource Source => _model.Source;

    /// <summary>The weights the graph declares (what overrides may name).</summary>
    public IReadOnlyList<FlowDiffusion.Sdk.Models.WeightInfo> Weights => _model.Weights;

    /// <summary>
    /// The same model with <paramref name="overrides"/> bound after this one's; no session is created until the new
    /// one first runs, and this one is unchanged.
    /// </summary>
    /// <exception cref="ArgumentException">An override names a weight the graph lacks.</exception>
    public UNet WithOverrides(IEnumerable<FlowDiffusion.Sdk.Models.WeightOverride> overrides) => new(_model.WithOverrides(overrides));

    /// <summary>
    /// The value weight <paramref name="name"/> has in this model (the graph's own after this model's overrides of it),
    /// read on its own: a merge reads another model's weights one at a time this way.
    /// </summary>
    /// <exception cref="ArgumentException">The graph lacks the weight, or an override yields the wrong type or shape.</exception>
    public FlowDiffusion.Sdk.Models.WeightTensor ReadWeight(string name, CancellationToken cancellationToken = default) => _model.ReadWeight(name, cancellationToken);

    /// <summary>The model file.</summary>
    public string ModelPath => _model.ModelPath;

    /// <summary>
    /// Input channels: 4, or 9 for an inpainting UNet (latents + mask + masked-image latents). Where the export leaves
    /// the axis dynamic, the first convolution's weight tells; 4 when neither does.
    /// </summary>
    public int InChannels => _declaredChannels ?? 4;

    /// <summary>Output channels (4 for SD 1.x, inpainting included).</summary>
    public int OutChannels => _output.Fixed(1) ?? 4;

    /// <summary>
    /// Whether the graph also takes FreeU's optional factors (<see cref="FreeUFactors"/>; every UNet graph model.load builds
    /// since builder version 8). This class leaves them at their defaults; <see cref="UNetVariant"/> feeds them.
    /// </summary>
    public bool TakesFreeU { get; }

    /// <summary>
    /// Whether the graph also takes Deep Shrink's optional inputs (<see cref="DeepShrink"/>; every UNet graph model.load
    /// builds since builder version 11). This class leaves them off; <see cref="UNetVariant"/> feeds them.
    /// </summary>
    public bool TakesDeepShrink { get; }

    /// <summary>
    /// Whether the graph also takes HyperTile's optional tiles (<see cref="HyperTile"/>; every UNet graph model.load builds
    /// since builder version 14). This class leaves them off; <see cref="UNetVariant"/> feeds them.
    /// </summary>
    public bool TakesHyperTile { get; }

    /// <summary>
    /// Whether the graph also takes ToMe's optional token order and counts (<see cref="TokenMerge"/>; every UNet graph
    /// model.load builds since builder version 15). This class leaves them off; <see cref="UNetVariant"/> feeds them.
    /// </summary>
    public bool TakesTokenMerge { get; }

    /// <summary>Whether the UNet takes SDXL's added conditioning (<c>text_embeds</c> and <c>time_ids</c>).</summary>
    public bool TakesAddedConditioning => _textEmbeds is not null;

    /// <summary>
    /// How many numbers a row of <c>time_ids</c> holds: 6 for SDXL base (original size, crop top-left, target size), 5 for
    /// the refiner (original size, crop top-left, aesthetic score), as the export fixes it; 6 where it leaves the axis open.
    /// </summary>
    public int TimeIdCount => _timeIds?.Fixed(1) ?? 6;

    /// <summary>The width of <c>encoder_hidden_states</c> the export fixes (768 for SD 1.x, 2048 for SDXL), or null.</summary>
    public int? ContextWidth => _hiddenStates.Fixed(2);

    /// <summary>The width of <c>text_embeds</c> the export fixes (1280 for SDXL), or null.</summary>
    public int? PooledWidth => _textEmbeds?.Fixed(1);

    /// <summary>
    /// The width of the guidance-scale embedding an LCM-distilled UNet takes as <c>timestep_cond</c> (its
    /// time_cond_proj_dim, 256 for LCM Dreamshaper), or null for a UNet without that input.
    /// </summary>
    public int? GuidanceEmbeddingWidth => _timestepCond?.Fixed(1);

    /// <summary>Whether the graph takes PAG's row mask (<see cref="UNetVariant.PagMaskInput"/>), as those built since builder version 9 do.</summary>
    public bool TakesPagMask => _pagMask is not null;

    /// <summary>The element type the export declares for <c>sample</c> (float32 or float16).</summary>
    public TensorElementType SampleType => _sample.ElementType;

    /// <summary>The element type the export declares for <c>timestep</c>.</summary>
    public TensorElementType TimestepType => _timestep.ElementType;

    /// <summary>Whether the export takes one scalar timestep for the whole batch.</summary>
    public bool TimestepIsScalar => _timestep.Rank == 0;

    /// <summary>Total time spent inside ONNX Runtime's <c>Run</c> for this model.</summary>
    public TimeSpan RunTime => _model.RunTime;

    /// <summary>The number of model evaluations.</summary>
    public int RunCount => _model.RunCount;

    /// <summary>How many times step buffers were allocated: once per distinct input shape in a row.</summary>
    internal int BufferAllocations => Volatile.Read(ref _bufferAllocations);

    /// <summary>
    /// Whether runs go through ONNX Runtime's I/O binding (<see cref="UNetBinding"/>): on for every provider but the CPU,
    /// where the session reads the pinned host buffers directly; tests turn it on for the CPU, where the conditioning is
    /// then bound as copies taken at bind time, as a device holds them.
    /// </summary>
    internal bool BindsInputs { get; set; }

    /// <summary>
    /// With <see cref="BindsInputs"/>, how many runs bound (copied to the device) conditioning inputs: the first run, a
    /// run whose conditioning changed, and the first run on a new binding (new shapes, or a session the cache re-created).
    /// </summary>
    internal int ConditioningBinds => Volatile.Read(ref _conditioningBinds);

    /// <summary>
    /// Predicts the noise (or v) for a batch of latents.
    /// </summary>
    /// <param name="sample">The scaled model input, [B, C, h, w] with C = <see cref="InChannels"/>.</param>
    /// <param name="shape">The shape of <paramref name="sample"/>.</param>
    /// <param name="timesteps">One timestep per batch item, or a single one for all; fractional values are truncated for integer exports, as diffusers' numpy cast does.</param>
    /// <param name="encoderHiddenStates">The text conditioning, [B, tokens, width].</param>
    /// <param name="tokens">The sequence length of <paramref name="encoderHiddenStates"/> (77 per prompt window).</param>
    /// <param name="prediction">Receives the output, [B, <see cref="OutChannels"/>, h, w].</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    public void Predict(
        ReadOnlySpan<float> sample,
        LatentShape shape,
        ReadOnlySpan<float> timesteps,
        ReadOnlySpan<float> encoderHiddenStates,
        int tokens,
        Span<float> prediction,
        CancellationToken cancellationToken = default) =>
        Predict(sample, shape, timesteps, encoderHiddenStates, tokens, default, default, prediction, cancellationToken);

    /// <summary>
    /// Predicts with SDXL's added conditioning: <paramref name="textEmbeds"/> [B, pooled] and <paramref name="timeIds"/>
    /// [B, 6] (original height and width, crop top and left, target height and width); both empty for a UNet without it.
    /// </summary>
    /// <param name="sample">The scaled model input, [B, C, h, w].</param>
    /// <param name="shape">The shape of <paramref name="sample"/>.</param>
    /// <param name="timesteps">One timestep per batch item, or a single one for all.</param>
    /// <param name="encoderHiddenStates">The text conditioning, [B, tokens, width].</param>
    /// <param name="tokens">The sequence length of <paramref name="encoderHiddenStates"/>.</param>
    /// <param name="textEmbeds">The pooled text embeddings, [B, pooled].</param>
    /// <param name="timeIds">The size conditioning, [B, 6].</param>
    /// <param name="prediction">Receives the output, [B, <see cref="OutChannels"/>, h, w].</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    public void Predict(
        ReadOnlySpan<float> sample,
        LatentShape shape,
        ReadOnlySpan<float> timesteps,
        ReadOnlySpan<float> encoderHiddenStates,
        int tokens,
        ReadOnlySpan<float> textEmbeds,
        ReadOnlySpan<float> timeIds,
        Span<float> prediction,
        CancellationToken cancellationToken = default) =>
        Predict(sample, shape, timesteps, encoderHiddenStates, tokens, textEmbeds, timeIds, default, prediction, cancellationToken);

    /// <summary>
    /// Predicts with every optional input: SDXL's added conditioning (see the overload above) and an LCM-distilled
    /// UNet's <paramref name="timestepCond"/> [B, <see cref="GuidanceEmbeddingWidth"/>] (empty for a UNet without it).
    /// </summary>
    /// <param name="sample">The scaled model input, [B, C, h, w].</param>
    /// <param name="shape">The shape of <paramref name="sample"/>.</param>
    /// <param name="timesteps">One timestep per batch item, or a single one for all.</param>
    /// <param name="encoderHiddenStates">The text conditioning, [B, tokens, width].</param>
    /// <param name="tokens">The sequence length of <paramref name="encoderHiddenStates"/>.</param>
    /// <param name="textEmbeds">The pooled text embeddings, [B, pooled], or empty.</param>
    /// <param name="timeIds">The size conditioning, [B, 6], or empty.</param>
    /// <param name="timestepCond">The guidance-scale embedding, [B, width], or empty.</param>
    /// <param name="prediction">Receives the output, [B, <see cref="OutChannels"/>, h, w].</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    public void Predict(
        ReadOnlySpan<float> sample,
        LatentShape shape,
        ReadOnlySpan<float> timesteps,
        ReadOnlySpan<float> encoderHiddenStates,
        int tokens,
        ReadOnlySpan<float> textEmbeds,
        ReadOnlySpan<float> timeIds,
        ReadOnlySpan<float> timestepCond,
        Span<float> prediction,
        CancellationToken cancellationToken = default) =>
        Predict(sample, shape, timesteps, encoderHiddenStates, tokens, textEmbeds, timeIds, timestepCond, default, prediction, cancellationToken);

    /// <summary>
    /// Predicts with every optional input and PAG's row mask <paramref name="pagMask"/> [B] (empty: zeros, the plain UNet),
    /// which a graph built since builder version 9 takes (<see cref="TakesPagMask"/>).
    /// </summary>
    /// <param name="sample">The scaled model input, [B, C, h, w].</param>
    /// <param name="shape">The shape of <paramref name="sample"/>.</param>
    /// <param name="timesteps">One timestep per batch item, or a single one for all.</param>
    /// <param name="encoderHiddenStates">The text conditioning, [B, tokens, width].</param>
    /// <param name="tokens">The sequence length of <paramref name="encoderHiddenStates"/>.</param>
    /// <param name="textEmbeds">The pooled text embeddings, [B, pooled], or empty.</param>
    /// <param name="timeIds">The size conditioning, [B, 6], or empty.</param>
    /// <param name="timestepCond">The guidance-scale embedding, [B, width], or empty.</param>
    /// <param name="pagMask">Per row, 1 to replace the middle block's self-attention by its values, 0 for none; or empty.</param>
    /// <param name="prediction">Receives the output, [B, <see cref="OutChannels"/>, h, w].</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    public void Predict(
        ReadOnlySpan<float> sample,
        LatentShape shape,
        ReadOnlySpan<float> timesteps,
        ReadOnlySpan<float> encoderHiddenStates,
        int tokens,
        ReadOnlySpan<float> textEmbeds,
        ReadOnlySpan<float> timeIds,
        ReadOnlySpan<float> timestepCond,
        ReadOnlySpan<float> pagMask,
        Span<float> prediction,
        CancellationToken cancellationToken = default)
    {
        if (!pagMask.IsEmpty && (_pagMask is null || pagMask.Length != shape.Batch))
        {
            throw new ArgumentException(_pagMask is null
                ? $"The UNet '{ModelPath}' takes no pag_mask (perturbed-attention guidance): either its UNet has no middle-block attention for PAG to perturb (SSD-1B, Segmind Vega), or it was converted before builder version 9: then delete its cached folder so model.load converts the checkpoint again."
                : $"pag_mask holds {pagMask.Length} values for a UNet call of {shape.Batch} rows.", nameof(pagMask));
        }

        if (GuidanceEmbeddingWidth is { } condWidth)
        {
            if (timestepCond.Length != shape.Batch * condWidth)
            {
                throw new ArgumentException($"The UNet '{ModelPath}' is LCM-distilled: it needs timestep_cond [{shape.Batch}, {condWidth}] (the guidance-scale embedding), not {timestepCond.Length} values.", nameof(timestepCond));
            }
        }
        else if (!timestepCond.IsEmpty)
        {
            throw new ArgumentException($"The UNet '{ModelPath}' takes no timestep_cond (it is not LCM-distilled).", nameof(timestepCond));
        }

        if (TakesAddedConditioning)
        {
            if (timeIds.Length != shape.Batch * TimeIdCount || textEmbeds.Length == 0 || textEmbeds.Length % shape.Batch != 0)
            {
                throw new ArgumentException($"The UNet '{ModelPath}' is an SDXL UNet: it needs text_embeds [{shape.Batch}, pooled] and time_ids [{shape.Batch}, {TimeIdCount}], not {textEmbeds.Length} and {timeIds.Length} values; encode the prompts with the same SDXL model's text encoders.", nameof(textEmbeds));
            }
        }
        else if (!textEmbeds.IsEmpty || !timeIds.IsEmpty)
        {
            throw new ArgumentException($"The UNet '{ModelPath}' takes no text_embeds or time_ids (it is not an SDXL UNet).", nameof(textEmbeds));
        }

        if (sample.Length != shape.Length)
        {
            throw new ArgumentException($"The sample has {sample.Length} values but shape {shape} needs {shape.Length}.", nameof(sample));
        }
        if (_declaredChannels is { } channels && channels != shape.Channels)
        {
            throw new ArgumentException($"The UNet '{ModelPath}' takes {channels}-channel samples, not {shape}.", nameof(shape));
        }
        if (timesteps.Length != 1 && timesteps.Length != shape.Batch)
        {
            throw new ArgumentException($"Give one timestep per batch item ({shape.Batch}) or one for all, not {timesteps.Length}.", nameof(timesteps));
        }
        if (tokens <= 0 || encoderHiddenStates.Length == 0 || encoderHiddenStates.Length % (shape.Batch * tokens) != 0)
        {
            throw new ArgumentException($"The hidden states ({encoderHiddenStates.Length} values) are not [{shape.Batch}, {tokens}, width].", nameof(encoderHiddenStates));
        }
        var outputLength = shape.Batch * OutChannels * shape.Height * shape.Width;
        if (prediction.Length != outputLength)
        {
            throw new ArgumentException($"The prediction buffer holds {prediction.Length} values; [{shape.Batch}, {OutChannels}, {shape.Height}, {shape.Width}] needs {outputLength}.", nameof(prediction));
        }
        var width = encoderHiddenStates.Length / (shape.Batch * tokens);

        var timestepShape = TimestepShape(timesteps, shape.Batch);
        Span<float> zeros = stackalloc float[_pagMask is null || !pagMask.IsEmpty ? 0 : Math.Min(shape.Batch, 64)];
        ReadOnlySpan<float> mask = _pagMask is null || !pagMask.IsEmpty ? pagMask : zeros.Length == shape.Batch ? zeros : new float[shape.Batch];
        var buffers = Rent(shape, timestepShape, tokens, width, TakesAddedConditioning ? textEmbeds.Length / shape.Batch : 0);
        try
        {
            if (BindsInputs)
            {
                PredictBound(buffers, sample, timesteps, shape.Batch, encoderHiddenStates, textEmbeds, timeIds, timestepCond, mask, cancellationToken);
                buffers.Output.CopyTo(prediction);
                return;
            }
            // The plain path rewrites every buffer, which a binding's record of what it wrote would not know.
            buffers.Binding?.Dispose();
            buffers.Binding = null;
            buffers.Sample.Write(sample);
            buffers.HiddenStates.Write(encoderHiddenStates);
            buffers.TextEmbeds?.Write(textEmbeds);
            buffers.TimeIds?.Write(timeIds);
            buffers.TimestepCond?.Write(timestepCond);
            buffers.PagMask?.Write(mask);
            WriteTimesteps(buffers.Timestep, timesteps, shape.Batch);
            _model.Run(_inputNames, buffers.Inputs, _outputNames, buffers.Outputs, cancellationToken);
            buffers.Output.CopyTo(prediction);
        }
        finally
        {
            Return(buffers);
        }
    }

    /// <summary>Predicts into a new array; see the span overload.</summary>
    public float[] Predict(
        ReadOnlySpan<float> sample,
        LatentShape shape,
        ReadOnlySpan<float> timesteps,
        ReadOnlySpan<float> encoderHiddenStates,
        int tokens,
        CancellationToken cancellationToken = default)
    {
        // Every element is written by the span overload, so the array need not be zeroed first.
        var prediction = GC.AllocateUninitializedArray<float>(shape.Batch * OutChannels * shape.Height * shape.Width);
        Predict(sample, shape, timesteps, encoderHiddenStates, tokens, prediction, cancellationToken);
        return prediction;
    }

    /// <summary>Frees the reused buffers (those of calls under way when they end); the session stays in the cache.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _generation++;
            foreach (var buffers in _idle) buffers.Dispose();
            _idle.Clear();
        }
    }

    // The bound run: the conditioning is written and bound only where it changed, sample and timestep every step.
    private void PredictBound(
        StepBuffers buffers,
        ReadOnlySpan<float> sample,
        ReadOnlySpan<float> timesteps,
        int batch,
        ReadOnlySpan<float> encoderHiddenStates,
        ReadOnlySpan<float> textEmbeds,
        ReadOnlySpan<float> timeIds,
        ReadOnlySpan<float> timestepCond,
        ReadOnlySpan<float> pagMask,
        CancellationToken cancellationToken)
    {
        var binding = buffers.Binding ??= NewBinding(buffers);
        buffers.Sample.Write(sample);
        WriteTimesteps(buffers.Timestep, timesteps, batch);
        binding.WriteConditioning(_hiddenStates.Name, encoderHiddenStates);
        if (_textEmbeds is not null && _timeIds is not null)
        {
            binding.WriteConditioning(_textEmbeds.Name, textEmbeds);
            binding.WriteConditioning(_timeIds.Name, timeIds);
        }
        if (_timestepCond is not null)
        {
            binding.WriteConditioning(_timestepCond.Name, timestepCond);
        }
        if (_pagMask is not null)
        {
            binding.WriteConditioning(_pagMask.Name, pagMask);
        }
        _model.RunBound(
            session =>
            {
                var bound = binding.Bind(session, out var conditioningBound);
                if (conditioningBound)
                {
                    Interlocked.Increment(ref _conditioningBinds);
                }
                return bound;
            },
            cancellationToken);
    }

    private UNetBinding NewBinding(StepBuffers buffers)
    {
        var conditioning = new List<(string, PinnedTensor)> { (_hiddenStates.Name, buffers.HiddenStates) };
        if (buffers.TextEmbeds is not null && buffers.TimeIds is not null)
        {
            conditioning.Add((_textEmbeds!.Name, buffers.TextEmbeds));
            conditioning.Add((_timeIds!.Name, buffers.TimeIds));
        }
        if (buffers.TimestepCond is not null)
        {
            conditioning.Add((_timestepCond!.Name, buffers.TimestepCond));
        }
        if (buffers.PagMask is not null)
        {
            conditioning.Add((_pagMask!.Name, buffers.PagMask));
        }
        return new UNetBinding([(_sample.Name, buffers.Sample), (_timestep.Name, buffers.Timestep)], conditioning, _output.Name, buffers.Output, copyOnBind: _onCpu);
    }

    // The timestep tensor's shape: [] for a scalar export, [1] for exports fixed at one, else [B].
    private long[] TimestepShape(ReadOnlySpan<float> timesteps, int batch)
    {
        var shared = timesteps.Length == 1 || !timesteps.ContainsAnyExcept(timesteps[0]);
        if (_timestep.Rank == 0 || _timestep.Fixed(0) == 1)
        {
            if (!shared)
            {
                throw _model.Signature.Mismatch(
                    $"one timestep per batch item (the batch has different timesteps), but 'timestep' is declared as {_timestep}");
            }
            return _timestep.Rank == 0 ? [] : [1];
        }
        return [batch];
    }

    private static void WriteTimesteps(PinnedTensor tensor, ReadOnlySpan<float> timesteps, int batch)
    {
        var count = tensor.Shape.Length == 0 ? 1 : (int)tensor.Shape[0];
        Span<float> values = stackalloc float[Math.Min(count, 64)];
        if (count > values.Length)
        {
            values = new float[count];
        }
        for (var i = 0; i < count; i++)
        {
            values[i] = timesteps.Length == 1 ? timesteps[0] : timesteps[Math.Min(i, batch - 1)];
        }
        tensor.Write(values);
    }

    // A set of buffers for one call: an idle one that fits, else a new one. Sets that do not fit are freed, as the
    // shapes of a sampling loop stay the same and a new shape means the old one is done with.
    private StepBuffers Rent(LatentShape shape, long[] timestepShape, int tokens, int width, int pooled)
    {
        long[] sampleShape = [shape.Batch, shape.Channels, shape.Height, shape.Width];
        long[] hiddenShape = [shape.Batch, tokens, width];
        int generation;
        lock (_gate)
        {
            generation = _generation;
            for (var i = _idle.Count - 1; i >= 0; i--)
            {
                var idle = _idle[i];
                _idle.RemoveAt(i);
                if (idle.Sample.Fits(_sample.ElementType, sampleShape)
                    && idle.HiddenStates.Fits(_hiddenStates.ElementType, hiddenShape)
                    && idle.Timestep.Fits(_timestep.ElementType, timestepShape)
                    && (idle.TextEmbeds is null || idle.TextEmbeds.Fits(_textEmbeds!.ElementType, [shape.Batch, pooled]))
                    && (idle.TimeIds is null || idle.TimeIds.Fits(_timeIds!.ElementType, [shape.Batch, TimeIdCount]))
                    && (idle.TimestepCond is null || idle.TimestepCond.Fits(_timestepCond!.ElementType, [shape.Batch, GuidanceEmbeddingWidth!.Value]))
                    && (idle.PagMask is null || idle.PagMask.Fits(_pagMask!.ElementType, [shape.Batch])))
                {
                    return idle;
                }
                idle.Dispose();
            }
        }
        long[] outputShape = [shape.Batch, OutChannels, shape.Height, shape.Width];
        Interlocked.Increment(ref _bufferAllocations);
        return new StepBuffers(
            generation,
            new PinnedTensor(_sample.ElementType, sampleShape),
            new PinnedTensor(_timestep.ElementType, timestepShape),
            new PinnedTensor(_hiddenStates.ElementType, hiddenShape),
            new PinnedTensor(_output.ElementType, outputShape),
            _textEmbeds is null ? null : new PinnedTensor(_textEmbeds.ElementType, [shape.Batch, pooled]),
            _timeIds is null ? null : new PinnedTensor(_timeIds.ElementType, [shape.Batch, TimeIdCount]),
            _timestepCond is null ? null : new PinnedTensor(_timestepCond.ElementType, [shape.Batch, GuidanceEmbeddingWidth!.Value]),
            _pagMask is null ? null : new PinnedTensor(_pagMask.ElementType, [shape.Batch]));
    }

    // Keeps a call's buffers for the next call; those of a call that began before Dispose are freed.
    private void Return(StepBuffers buffers)
    {
        lock (_gate)
        {
            if (buffers.Generation == _generation)
            {
                _idle.Add(buffers);
                if (_idle.Count <= MaxIdleBuffers) return;
                buffers = _idle[0];
                _idle.RemoveAt(0);
            }
        }
        buffers.Dispose();
    }

    private sealed class StepBuffers(int generation, PinnedTensor sample, PinnedTensor timestep, PinnedTensor hiddenStates, PinnedTensor output, PinnedTensor? textEmbeds, PinnedTensor? timeIds, PinnedTensor? timestepCond,
        PinnedTensor? pagMask) : IDisposable
    {
        // Which Dispose of the UNet they outlive: sets of an earlier generation are freed when their call ends.
        public int Generation { get; } = generation;
        public PinnedTensor Sample { get; } = sample;
        public PinnedTensor Timestep { get; } = timestep;
        public PinnedTensor HiddenStates { get; } = hiddenStates;
        public PinnedTensor Output { get; } = output;
        public PinnedTensor? TextEmbeds { get; } = textEmbeds;
        public PinnedTensor? TimeIds { get; } = timeIds;
        public PinnedTensor? TimestepCond { get; } = timestepCond;
        public PinnedTensor? PagMask { get; } = pagMask;
        // In the order of the UNet's input names: the three base inputs, SDXL's pair, timestep_cond, then pag_mask.
        public OrtValue[] Inputs { get; } =
        [
            sample.Value, timestep.Value, hiddenStates.Value,
            .. textEmbeds is null || timeIds is null ? Array.Empty<OrtValue>() : [textEmbeds.Value, timeIds.Value],
            .. timestepCond is null ? Array.Empty<OrtValue>() : [timestepCond.Value],
            .. pagMask is null ? Array.Empty<OrtValue>() : [pagMask.Value],
        ];
        public OrtValue[] Outputs { get; } = [output.Value];

        // The I/O binding over these buffers, made on the first bound run.
        public UNetBinding? Binding { get; set; }

        public void Dispose()
        {
            Binding?.Dispose();
            Sample.Dispose();
            Timestep.Dispose();
            HiddenStates.Dispose();
            Output.Dispose();
            TextEmbeds?.Dispose();
            TimeIds?.Dispose();
            TimestepCond?.Dispose();
            PagMask?.Dispose();
        }
    }
}
