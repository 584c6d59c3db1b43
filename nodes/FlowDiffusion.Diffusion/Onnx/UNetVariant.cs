using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A UNet graph variant the checkpoint builder writes beside the plain <c>unet/model.onnx</c> (same weights), float32
/// throughout, read from its signature: besides <c>sample</c>, <c>timestep</c> and <c>encoder_hidden_states</c> it may take
/// SDXL's <c>text_embeds</c> and <c>time_ids</c>, an LCM-distilled UNet's <c>timestep_cond</c> [B, width], ControlNet
/// residuals (<c>down_block_i</c> added to the i-th skip connection, <c>mid_block_res_sample</c> to the middle block's
/// output) and IP-Adapter inputs (<c>ip_scale</c> [B, layers] and, per cross-attention layer n, <c>ip_key_n</c> and
/// <c>ip_value_n</c> [B, image tokens, channels]) and FreeU's optional factors (<see cref="FreeUFactors"/>) and PAG's optional row mask (<see cref="PagMaskInput"/>) and Deep Shrink's optional inputs (<see cref="DeepShrink"/>). A variant with ControlNet residuals built since builder version 7 also
/// takes optional T2I-Adapter features (<c>down_intrablock_i</c>, zero by default); a call with features and no ControlNet
/// feeds the residual inputs zeros of [B, C, 1, 1], which broadcast. One class serves every combination (<see cref="FileName"/>).
/// </summary>
public sealed class UNetVariant
{
    private const string Scale = "ip_scale";
    private static readonly TensorElementType[] Float32 = [TensorElementType.Float];
    private readonly ModelSession _model;
    private readonly string _role;
    private readonly IReadOnlyList<DeclaredTensor> _residuals;
    private readonly HashSet<string> _features;
    private readonly int[] _ipChannels;
    private readonly int? _timestepCondWidth;

    private UNetVariant(ModelSession model, string role)
    {
        _model = model;
        _role = role;
        var signature = model.Signature;
        var known = new List<string> { "sample", "timestep", "encoder_hidden_states" };
        signature.Input("sample", Float32, 4);
        signature.Input("timestep", Float32, 1);
        signature.Input("encoder_hidden_states", Float32, 3);
        TakesAddedConditioning = signature.HasInput("text_embeds");
        if (TakesAddedConditioning)
        {
            signature.Input("text_embeds", Float32, 2);
            signature.Input("time_ids", Float32, 2);
            known.AddRange(["text_embeds", "time_ids"]);
        }

        if (signature.HasInput("timestep_cond"))
        {
            _timestepCondWidth = signature.Input("timestep_cond", Float32, 2).Fixed(1)
                ?? throw signature.Mismatch("a fixed embedding width in 'timestep_cond' (time_cond_proj_dim)");
            known.Add("timestep_cond");
        }

        _ipChannels = [];
        if (signature.HasInput(Scale))
        {
            var layers = signature.Input(Scale, Float32, 2).Fixed(1) ?? throw signature.Mismatch("ip_scale [B, layers] with a fixed number of layers");
            _ipChannels = new int[layers];
            known.Add(Scale);
            for (var n = 0; n < layers; n++)
            {
                _ipChannels[n] = signature.Input(Key(n), Float32, 3).Fixed(2) ?? 0;
                signature.Input(Value(n), Float32, 3);
                known.AddRange([Key(n), Value(n)]);
            }
        }

        // FreeU's factors are optional inputs (their defaults give the plain UNet).
        var freeU = signature.OptionalInputs.Where(i => i.Name.StartsWith("freeu_", StringComparison.Ordinal)).ToList();
        TakesFreeU = freeU.Count > 0;
        if (TakesFreeU && (freeU.Count != 5 || freeU.Any(i => i.ElementType != TensorElementType.Float || i.Rank != 1)
            || !FreeUFactors.FactorInputs.Append(FreeUFactors.VersionInput).All(name => freeU.Any(i => i.Name == name))))
        {
            throw signature.Mismatch($"FreeU's optional float32 [1] inputs {string.Join(", ", FreeUFactors.FactorInputs)} and {FreeUFactors.VersionInput}");
        }

        TakesPagMask = signature.OptionalInputs.Any(i => i.Name == PagMaskInput && i.ElementType == TensorElementType.Float && i.Rank == 1);
        TakesDeepShrink = DeepShrink.Inputs.All(name => signature.OptionalInputs.Any(i => i.Name == name));
        TakesHyperTile = signature.OptionalInputs.Any(i => i.Name == HyperTile.TilesInput && i.ElementType == TensorElementType.Int64 && i.Rank == 2);
        TakesTokenMerge = new[] { TokenMerge.OrderInput, TokenMerge.CountsInput }.All(name => signature.OptionalInputs.Any(i => i.Name == name && i.ElementType == TensorElementType.Int64 && i.Rank == 1));
        MapsSelfAttention = signature.OptionalInputs.Any(i => i.Name == SagRowsInput && i.ElementType == TensorElementType.Int64 && i.Rank == 1) && signature.HasOutput(SagAttentionOutput);
        _residuals = signature.OtherInputs(known);
        _features = [.. signature.OptionalInputs.Where(i => i.Name.StartsWith(FeaturePrefix, StringComparison.Ordinal)).Select(i => i.Name)];
        if (_residuals.Any(r => r.ElementType != TensorElementType.Float || r.Rank != 4))
        {
            throw signature.Mismatch("float32 [B, C, h, w] residual inputs down_block_0 … and mid_block_res_sample beside sample, timestep and encoder_hidden_states");
        }
    }

    /// <summary>The file name of the variant with ControlNet residual inputs, IP-Adapter inputs or both, beside <c>unet/model.onnx</c>.</summary>
    public static string FileName(bool controlled, bool ipAdapted) => (controlled, ipAdapted) switch
    {
        (true, true) => "ipadapter-controlled.onnx",
        (true, false) => "controlled.onnx",
        (false, true) => "ipadapter.onnx",
        _ => "model.onnx",
    };

    /// <summary>Opens the graph <paramref name="source"/> describes through <paramref name="cache"/> and reads its inputs.</summary>
    public static UNetVariant Open(OnnxSessionCache cache, OnnxModelSource source, string role = "UNet variant") => new(new ModelSession(cache, source, role), role);

    /// <summary>The name stem of the T2I-Adapter feature inputs: <c>down_intrablock_0</c> …, the middle block's last.</summary>
    public const string FeaturePrefix = "down_intrablock_";

    /// <summary>How many T2I-Adapter feature inputs it takes (encoder levels + 1; none before builder version 7).</summary>
    public int AdapterFeatureCount => _features.Count;

    /// <summary>Whether it takes SDXL's added conditioning (<c>text_embeds</c>, <c>time_ids</c>).</summary>
    public bool TakesAddedConditioning { get; }

    /// <summary>Whether it takes FreeU's factors (<see cref="FreeUFactors"/>).</summary>
    public bool TakesFreeU { get; }

    /// <summary>PAG's optional row mask, float [B] (builder version 9): 1 replaces the middle block's self-attention by its values.</summary>
    public const string PagMaskInput = "pag_mask";

    /// <summary>Whether it takes PAG's row mask (<see cref="PagMaskInput"/>).</summary>
    public bool TakesPagMask { get; }

    /// <summary>Whether it takes Deep Shrink's inputs (<see cref="Onnx.DeepShrink"/>), as graphs built since builder version 11 do.</summary>
    public bool TakesDeepShrink { get; }

    /// <summary>Whether it takes HyperTile's tiles (<see cref="Onnx.HyperTile"/>), as graphs built since builder version 14 do.</summary>
    public bool TakesHyperTile { get; }

    /// <summary>Whether it takes ToMe's token order and counts (<see cref="Onnx.TokenMerge"/>), as graphs built since builder version 15 do.</summary>
    public bool TakesTokenMerge { get; }

    /// <summary>SAG's optional row indices, int64 [R] (builder version 12): the rows whose <see cref="SagAttentionOutput"/> the call returns.</summary>
    public const string SagRowsInput = "sag_rows";

    /// <summary>SAG's attention map, float32 [R, middle tokens]: the attention each token of the middle block's first self-attention receives.</summary>
    public const string SagAttentionOutput = "sag_attention";

    /// <summary>Whether it returns SAG's attention map (<see cref="SagRowsInput"/>, <see cref="SagAttentionOutput"/>).</summary>
    public bool MapsSelfAttention { get; }

    /// <summary>Whether it takes ControlNet residuals.</summary>
    public bool TakesResiduals => _residuals.Count > 0;

    /// <summary>The width of each cross-attention layer that takes IP-Adapter keys and values; empty when it takes none.</summary>
    public IReadOnlyList<int> IpChannels => _ipChannels;

    /// <summary>Total time spent inside ONNX Runtime's <c>Run</c> for this model.</summary>
    public TimeSpan RunTime => _model.RunTime;

    /// <summary>Predicts the noise (or v).</summary>
    /// <param name="sample">The scaled model input [B, C, h, w].</param>
    /// <param name="shape">Its shape.</param>
    /// <param name="timestep">The timestep for every row.</param>
    /// <param name="encoderHiddenStates">[B, tokens, width].</param>
    /// <param name="tokens">The text sequence length.</param>
    /// <param name="inputs">The other inputs, each group given exactly when the graph takes it.</param>
    /// <param name="prediction">Receives [B, out channels, h, w].</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    /// <returns>SAG's attention map [R, middle tokens] of the rows <see cref="UNetVariantInputs.SagRows"/> names; null when it names none.</returns>
    public float[]? Predict(
        float[] sample, LatentShape shape, float timestep, float[] encoderHiddenStates, int tokens,
        UNetVariantInputs inputs, Span<float> prediction, CancellationToken cancellationToken)
    {
        if (TakesAddedConditioning && (inputs.TextEmbeds is null || inputs.TimeIds is null))
        {
            throw new ArgumentException($"the {_role} '{_model.ModelPath}' needs text_embeds and time_ids (SDXL's added conditioning)");
        }

        var names = new List<string>();
        var values = new List<OrtValue>();
        try
        {
            DenoiserCallInputs.Add(names, values, sample, shape, timestep, encoderHiddenStates, tokens, TakesAddedConditioning ? inputs.TextEmbeds : null, inputs.TimeIds);
            AddTimestepCond(shape, inputs.TimestepCond, names, values);
            AddResiduals(shape, inputs.Residuals, names, values);
            AddImagePrompt(shape, inputs.ImagePrompt, names, values);
            AddFreeU(inputs.FreeU, names, values);
            AddPagMask(shape, inputs.PagMask, names, values);
            AddDeepShrink(inputs.DeepShrink, names, values);
            AddHyperTile(shape, inputs.HyperTile, names, values);
            AddTokenMerge(shape, inputs.TokenMerge, names, values);
            var mapped = AddSagRows(shape, inputs.SagRows, names, values);
            using var results = _model.Run([.. names], [.. values], mapped ? ["out_sample", SagAttentionOutput] : ["out_sample"], cancellationToken);
            var output = results[0].GetTensorDataAsSpan<float>();
            if (output.Length != prediction.Length)
            {
                throw new ArgumentException($"the {_role} predicted {output.Length} values where {prediction.Length} were expected");
            }

            output.CopyTo(prediction);
            return mapped ? results[1].GetTensorDataAsSpan<float>().ToArray() : null;
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }

    private static string Key(int layer) => $"ip_key_{layer}";

    private static string Value(int layer) => $"ip_value_{layer}";

    private void AddTimestepCond(LatentShape shape, float[]? cond, List<string> names, List<OrtValue> values)
    {
        if (_timestepCondWidth is { } condWidth)
        {
            if (cond is null || cond.Length != shape.Batch * condWidth)
            {
                throw new ArgumentException($"the {_role} '{_model.ModelPath}' is LCM-distilled: it needs timestep_cond [{shape.Batch}, {condWidth}] (the guidance-scale embedding), not {cond?.Length ?? 0} values");
            }

            names.Add("timestep_cond");
            values.Add(OrtValue.CreateTensorValueFromMemory(cond, [shape.Batch, condWidth]));
        }
        else if (cond is not null)
        {
            throw new ArgumentException($"the {_role} '{_model.ModelPath}' takes no timestep_cond; it was built for a UNet that is not LCM-distilled");
        }
    }

    private void AddResiduals(LatentShape shape, IReadOnlyDictionary<string, ControlResidual>? residuals, List<string> names, List<OrtValue> values)
    {
        if (_residuals.Count > 0 && residuals is null)
        {
            throw new ArgumentException($"the {_role} '{_model.ModelPath}' takes ControlNet residuals, and none were given");
        }

        if (_residuals.Count == 0 && residuals is not null)
        {
            throw new ArgumentException($"the {_role} '{_model.ModelPath}' takes no ControlNet residuals");
        }

        if (residuals is null)
        {
            return;
        }

        // Only T2I-Adapter features: the ControlNet inputs get zeros of [B, C, 1, 1], which broadcast.
        var controlNets = _residuals.Any(r => residuals.ContainsKey(r.Name));
        foreach (var input in _residuals)
        {
            names.Add(input.Name);
            if (!controlNets)
            {
                var channels = input.Fixed(1) ?? throw new ArgumentException($"the {_role} '{_model.ModelPath}' declares no channel count for '{input.Name}'");
                values.Add(OrtValue.CreateTensorValueFromMemory(new float[shape.Batch * channels], [shape.Batch, channels, 1, 1]));
                continue;
            }

            if (!residuals.TryGetValue(input.Name, out var residual))
            {
                throw new ArgumentException($"no ControlNet residual '{input.Name}' for the {_role} '{_model.ModelPath}'; the ControlNet's outputs ({string.Join(", ", residuals.Keys)}) do not fit this UNet");
            }

            if (residual.Shape[0] != shape.Batch)
            {
                throw new ArgumentException($"the ControlNet residual '{input.Name}' has batch {residual.Shape[0]}, the UNet call {shape.Batch}");
            }

            values.Add(OrtValue.CreateTensorValueFromMemory(residual.Values, residual.Shape));
        }

        foreach (var (name, feature) in residuals.Where(r => r.Key.StartsWith(FeaturePrefix, StringComparison.Ordinal)))
        {
            if (!_features.Contains(name))
            {
                throw new ArgumentException(_features.Count == 0
                    ? $"the {_role} '{_model.ModelPath}' takes no T2I-Adapter features; it was converted before T2I-Adapters were supported: delete its cached folder so model.load converts the checkpoint again"
                    : $"the T2I-Adapter gives more features than the {_role} '{_model.ModelPath}' takes ({_features.Count}: one per encoder level and the middle block); the adapter was made for another UNet");
            }

            if (feature.Shape[0] != shape.Batch)
            {
                throw new ArgumentException($"the T2I-Adapter feature '{name}' has batch {feature.Shape[0]}, the UNet call {shape.Batch}");
            }

            names.Add(name);
            values.Add(OrtValue.CreateTensorValueFromMemory(feature.Values, feature.Shape));
        }
    }

    private void AddFreeU(FreeUFactors? freeU, List<string> names, List<OrtValue> values)
    {
        if (freeU is null)
        {
            return;
        }

        if (!TakesFreeU)
        {
            throw new ArgumentException($"the {_role} '{_model.ModelPath}' takes no FreeU factors");
        }

        if (freeU.Version is not (1 or 2))
        {
            throw new ArgumentException($"FreeU's version must be 1 or 2, not {freeU.Version}");
        }

        var factors = freeU.Factors;
        for (var i = 0; i < factors.Length; i++)
        {
            names.Add(FreeUFactors.FactorInputs[i]);
            values.Add(OrtValue.CreateTensorValueFromMemory(new[] { factors[i] }, [1]));
        }

        names.Add(FreeUFactors.VersionInput);
        values.Add(OrtValue.CreateTensorValueFromMemory(new[] { (float)freeU.Version }, [1]));
    }

    private void AddDeepShrink(DeepShrink? shrink, List<string> names, List<OrtValue> values)
    {
        if (shrink is null) return;
        if (!TakesDeepShrink)
        {
            throw new ArgumentException($"the {_role} '{_model.ModelPath}' takes no Deep Shrink inputs; it was converted before builder version 11: delete its cached folder so model.load converts the checkpoint again");
        }

        if (shrink.Problem() is { } problem) throw new ArgumentException(problem);
        names.AddRange(DeepShrink.Inputs);
        values.Add(OrtValue.CreateTensorValueFromMemory(new[] { (long)shrink.Block }, [1]));
        values.Add(OrtValue.CreateTensorValueFromMemory(new[] { 1.0 / shrink.Factor }, [1]));
        values.Add(OrtValue.CreateTensorValueFromMemory(new[] { shrink.AfterSkip ? 1L : 0L }, [1]));
        values.Add(OrtValue.CreateTensorValueFromMemory(shrink.MethodIndices, [2]));
    }

    private void AddHyperTile(LatentShape shape, HyperTile? tile, List<string> names, List<OrtValue> values)
    {
        if (tile is null) return;
        if (!TakesHyperTile)
        {
            throw new ArgumentException($"the {_role} '{_model.ModelPath}' takes no HyperTile tiles; it was converted before builder version 14: delete its cached folder so model.load converts the checkpoint again");
        }

        var rows = tile.Tiles(shape.Height, shape.Width);
        if (rows.Length == 0) return; // nothing tiled at this size: the default row tiles nothing
        names.Add(HyperTile.TilesInput);
        values.Add(OrtValue.CreateTensorValueFromMemory(rows, [rows.Length / 4, 4]));
    }

    private void AddTokenMerge(LatentShape shape, TokenMerge? merge, List<string> names, List<OrtValue> values)
    {
        if (merge is null) return;
        if (!TakesTokenMerge)
        {
            throw new ArgumentException($"the {_role} '{_model.ModelPath}' takes no ToMe token order; it was converted before builder version 15: delete its cached folder so model.load converts the checkpoint again");
        }

        if (merge.Tokens(shape.Height, shape.Width) is not { } tokens) return; // nothing merged at this size: the defaults merge nothing
        names.Add(TokenMerge.OrderInput);
        values.Add(OrtValue.CreateTensorValueFromMemory(tokens.Order, [tokens.Order.Length]));
        names.Add(TokenMerge.CountsInput);
        values.Add(OrtValue.CreateTensorValueFromMemory(new[] { tokens.Dsts, tokens.Merged }, [2]));
    }

    private void AddPagMask(LatentShape shape, float[]? mask, List<string> names, List<OrtValue> values)
    {
        if (mask is null) return;
        if (!TakesPagMask)
        {
            throw new ArgumentException($"the {_role} '{_model.ModelPath}' takes no pag_mask (perturbed-attention guidance): either its UNet has no middle-block attention for PAG to perturb (SSD-1B, Segmind Vega), or it was converted before builder version 9: then delete its cached folder so model.load converts the checkpoint again");
        }

        if (mask.Length != shape.Batch) throw new ArgumentException($"pag_mask holds {mask.Length} values for a UNet call of {shape.Batch} rows");
        names.Add(PagMaskInput);
        values.Add(OrtValue.CreateTensorValueFromMemory(mask, [shape.Batch]));
    }

    private bool AddSagRows(LatentShape shape, int[]? rows, List<string> names, List<OrtValue> values)
    {
        if (rows is null || rows.Length == 0) return false;
        if (!MapsSelfAttention)
        {
            throw new ArgumentException($"the {_role} '{_model.ModelPath}' returns no sag_attention (self-attention guidance): either its UNet has no middle-block attention for SAG to map (SSD-1B, Segmind Vega), or it was converted before builder version 12: then delete its cached folder so model.load converts the checkpoint again");
        }

        if (rows.Any(r => r < 0 || r >= shape.Batch)) throw new ArgumentException($"sag_rows names rows outside the UNet call's {shape.Batch}");
        names.Add(SagRowsInput);
        values.Add(OrtValue.CreateTensorValueFromMemory(rows.Select(r => (long)r).ToArray(), [rows.Length]));
        return true;
    }

    private void AddImagePrompt(LatentShape shape, IpAttention? prompt, List<string> names, List<OrtValue> values)
    {
        var layers = _ipChannels.Length;
        if ((layers > 0) != (prompt is not null))
        {
            throw new ArgumentException(layers > 0
                ? $"the {_role} '{_model.ModelPath}' takes IP-Adapter keys and values, and none were given"
                : $"the {_role} '{_model.ModelPath}' takes no IP-Adapter keys and values");
        }

        if (prompt is null)
        {
            return;
        }

        var rows = prompt.Rows;
        if (rows.Count != shape.Batch || prompt.Scales.Length != shape.Batch * layers)
        {
            throw new ArgumentException($"the image prompt has {rows.Count} rows and {prompt.Scales.Length} scales for a UNet call of {shape.Batch} rows and {layers} cross-attention layers");
        }

        var imageTokens = rows[0].Tokens;
        foreach (var row in rows)
        {
            if (row.Layers != layers || row.Channels.Where((c, n) => _ipChannels[n] != 0 && c != _ipChannels[n]).Any())
            {
                throw new ArgumentException($"the IP-Adapter makes keys for {row.Layers} layers ({string.Join("/", row.Channels.Distinct())} wide) but the UNet '{_model.ModelPath}' has {layers} cross-attention layers ({string.Join("/", _ipChannels.Distinct())} wide); the adapter was made for another model family");
            }

            if (row.Tokens != imageTokens)
            {
                throw new ArgumentException($"the batched rows carry image prompts of different lengths ({row.Tokens} and {imageTokens} tokens); give the positive and the negative the same number of images");
            }
        }

        names.Add(Scale);
        values.Add(OrtValue.CreateTensorValueFromMemory(prompt.Scales, [shape.Batch, layers]));
        for (var n = 0; n < layers; n++)
        {
            var channels = rows[0].Channels[n];
            names.AddRange([Key(n), Value(n)]);
            values.Add(OrtValue.CreateTensorValueFromMemory(Stack(rows, n, keys: true), [shape.Batch, imageTokens, channels]));
            values.Add(OrtValue.CreateTensorValueFromMemory(Stack(rows, n, keys: false), [shape.Batch, imageTokens, channels]));
        }
    }

    private static float[] Stack(IReadOnlyList<IpKeysValues> rows, int layer, bool keys)
    {
        var item = (keys ? rows[0].Keys : rows[0].Values)[layer].Length;
        var result = new float[rows.Count * item];
        for (var r = 0; r < rows.Count; r++)
        {
            (keys ? rows[r].Keys : rows[r].Values)[layer].CopyTo(result, r * item);
        }

        return result;
    }
}
