using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A UNet graph that also takes ControlNet residuals (<c>down_block_i</c> added to the i-th skip connection,
/// <c>mid_block_res_sample</c> to the middle block output), float32 throughout, as the checkpoint builder writes it
/// beside the plain graph (<see cref="FileName"/>). An SDXL UNet's also takes <c>text_embeds</c> and <c>time_ids</c>; the
/// graph of an LCM-distilled UNet also takes <c>timestep_cond</c> [B, width], the guidance-scale embedding the plain graph takes.
/// A graph built since builder version 5 also takes optional T2I-Adapter features (<c>down_intrablock_i</c>, zero by
/// default); a call with features and no ControlNet feeds the residual inputs zeros of [B, C, 1, 1], which broadcast.
/// </summary>
public sealed class ControlledUNet
{
    /// <summary>The graph's file name beside the plain <c>unet/model.onnx</c>.</summary>
    public const string FileName = "controlled.onnx";

    private static readonly TensorElementType[] Float32 = [TensorElementType.Float];
    private static readonly string[] Plain = ["sample", "timestep", "encoder_hidden_states"];
    private static readonly string[] Sdxl = [.. Plain, "text_embeds", "time_ids"];
    private readonly string[] _known;
    private readonly ModelSession _model;
    private readonly IReadOnlyList<DeclaredTensor> _residuals;
    private readonly HashSet<string> _features;
    private readonly int? _timestepCondWidth;

    private ControlledUNet(ModelSession model)
    {
        _model = model;
        var signature = model.Signature;
        signature.Input("sample", Float32, 4);
        signature.Input("timestep", Float32, 1);
        signature.Input("encoder_hidden_states", Float32, 3);
        TakesAddedConditioning = signature.HasInput("text_embeds");
        if (TakesAddedConditioning)
        {
            signature.Input("text_embeds", Float32, 2);
            signature.Input("time_ids", Float32, 2);
        }

        _known = TakesAddedConditioning ? Sdxl : Plain;
        if (signature.HasInput("timestep_cond"))
        {
            _timestepCondWidth = signature.Input("timestep_cond", Float32, 2).Fixed(1)
                ?? throw signature.Mismatch("a fixed embedding width in 'timestep_cond' (time_cond_proj_dim)");
            _known = [.. _known, "timestep_cond"];
        }

        _residuals = signature.OtherInputs(_known);
        _features = [.. signature.OptionalInputs.Where(i => i.Name.StartsWith(FeaturePrefix, StringComparison.Ordinal)).Select(i => i.Name)];
        if (_residuals.Count == 0 || _residuals.Any(r => r.ElementType != TensorElementType.Float || r.Rank != 4))
        {
            throw signature.Mismatch("float32 [B, C, h, w] residual inputs down_block_0 … and mid_block_res_sample beside sample, timestep and encoder_hidden_states");
        }
    }

    /// <summary>Opens the graph <paramref name="source"/> describes through <paramref name="cache"/> and checks its inputs.</summary>
    public static ControlledUNet Open(OnnxSessionCache cache, OnnxModelSource source) => new(new ModelSession(cache, source, "controlled UNet"));

    /// <summary>The name stem of the T2I-Adapter feature inputs: <c>down_intrablock_0</c> …, the middle block's last.</summary>
    public const string FeaturePrefix = "down_intrablock_";

    /// <summary>Whether it takes T2I-Adapter features (a graph from before builder version 5 does not).</summary>
    public bool TakesAdapterFeatures => _features.Count > 0;

    /// <summary>How many T2I-Adapter feature inputs it has (encoder levels + 1).</summary>
    public int AdapterFeatureCount => _features.Count;

    /// <summary>Whether it takes SDXL's added conditioning (<c>text_embeds</c>, <c>time_ids</c>).</summary>
    public bool TakesAddedConditioning { get; }

    /// <summary>Total time spent inside ONNX Runtime's <c>Run</c> for this model.</summary>
    public TimeSpan RunTime => _model.RunTime;

    /// <summary>Predicts the noise (or v) with the residuals added.</summary>
    /// <param name="sample">The scaled model input [B, C, h, w].</param>
    /// <param name="shape">Its shape.</param>
    /// <param name="timestep">The timestep for every row.</param>
    /// <param name="encoderHiddenStates">[B, tokens, width].</param>
    /// <param name="tokens">The sequence length.</param>
    /// <param name="residuals">
    /// The summed, scaled ControlNet residuals by name, one for every residual input, or none (zeros); and any T2I-Adapter
    /// features (<c>down_intrablock_i</c>), summed and scaled.
    /// </param>
    /// <param name="textEmbeds">SDXL's pooled text embedding [B, pooled] (null for SD 1.x).</param>
    /// <param name="timeIds">SDXL's size numbers [B, n] (null for SD 1.x).</param>
    /// <param name="prediction">Receives [B, out channels, h, w].</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    /// <param name="timestepCond">An LCM-distilled UNet's guidance-scale embedding [B, width]; null for any other UNet.</param>
    public void Predict(
        float[] sample, LatentShape shape, float timestep, float[] encoderHiddenStates, int tokens,
        IReadOnlyDictionary<string, ControlResidual> residuals, float[]? textEmbeds, float[]? timeIds, Span<float> prediction, CancellationToken cancellationToken, float[]? timestepCond = null)
    {
        if (_timestepCondWidth is { } condWidth && (timestepCond is null || timestepCond.Length != shape.Batch * condWidth))
        {
            throw new ArgumentException($"the controlled UNet '{_model.ModelPath}' is LCM-distilled: it needs timestep_cond [{shape.Batch}, {condWidth}] (the guidance-scale embedding), not {timestepCond?.Length ?? 0} values");
        }

        if (_timestepCondWidth is null && timestepCond is not null)
        {
            throw new ArgumentException($"the controlled UNet '{_model.ModelPath}' takes no timestep_cond; it was built for a UNet that is not LCM-distilled");
        }

        var timesteps = Enumerable.Repeat(timestep, shape.Batch).ToArray();
        var width = encoderHiddenStates.Length / (shape.Batch * tokens);
        var values = new List<OrtValue>();
        try
        {
            values.Add(OrtValue.CreateTensorValueFromMemory(sample, [shape.Batch, shape.Channels, shape.Height, shape.Width]));
            values.Add(OrtValue.CreateTensorValueFromMemory(timesteps, [shape.Batch]));
            values.Add(OrtValue.CreateTensorValueFromMemory(encoderHiddenStates, [shape.Batch, tokens, width]));
            if (TakesAddedConditioning)
            {
                if (textEmbeds is null || timeIds is null)
                {
                    throw new ArgumentException($"the controlled UNet '{_model.ModelPath}' needs text_embeds and time_ids (SDXL's added conditioning)");
                }

                values.Add(OrtValue.CreateTensorValueFromMemory(textEmbeds, [shape.Batch, textEmbeds.Length / shape.Batch]));
                values.Add(OrtValue.CreateTensorValueFromMemory(timeIds, [shape.Batch, timeIds.Length / shape.Batch]));
            }

            if (timestepCond is not null)
            {
                values.Add(OrtValue.CreateTensorValueFromMemory(timestepCond, [shape.Batch, _timestepCondWidth!.Value]));
            }

            var controlNets = _residuals.Any(r => residuals.ContainsKey(r.Name));
            var names = new List<string>(_known);
            foreach (var input in _residuals)
            {
                names.Add(input.Name);
                if (!controlNets)
                {
                    // Only adapter features: the ControlNet inputs get broadcasting zeros [B, C, 1, 1].
                    var channels = input.Fixed(1) ?? throw new ArgumentException($"the controlled UNet '{_model.ModelPath}' declares no channel count for '{input.Name}'");
                    values.Add(OrtValue.CreateTensorValueFromMemory(new float[shape.Batch * channels], [shape.Batch, channels, 1, 1]));
                    continue;
                }

                if (!residuals.TryGetValue(input.Name, out var residual))
                {
                    throw new ArgumentException($"no ControlNet residual '{input.Name}' for the controlled UNet '{_model.ModelPath}'; the ControlNet's outputs ({string.Join(", ", residuals.Keys)}) do not fit this UNet");
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
                        ? $"the controlled UNet '{_model.ModelPath}' takes no T2I-Adapter features; it was converted before T2I-Adapters were supported: delete its cached folder so model.load converts the checkpoint again"
                        : $"the T2I-Adapter gives more features than the controlled UNet '{_model.ModelPath}' takes ({_features.Count}: one per encoder level and the middle block); the adapter was made for another UNet");
                }

                if (feature.Shape[0] != shape.Batch)
                {
                    throw new ArgumentException($"the T2I-Adapter feature '{name}' has batch {feature.Shape[0]}, the UNet call {shape.Batch}");
                }

                names.Add(name);
                values.Add(OrtValue.CreateTensorValueFromMemory(feature.Values, feature.Shape));
            }

            using var results = _model.Run([.. names], [.. values], ["out_sample"], cancellationToken);
            var output = results[0].GetTensorDataAsSpan<float>();
            if (output.Length != prediction.Length)
            {
                throw new ArgumentException($"the controlled UNet predicted {output.Length} values where {prediction.Length} were expected");
            }

            output.CopyTo(prediction);
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }
}
