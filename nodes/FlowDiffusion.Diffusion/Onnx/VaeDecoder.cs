using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A diffusers ONNX VAE decoder: <c>latent_sample</c> [B, 4, h, w] → <c>sample</c> [B, 3, 8h, 8w] in about [-1, 1].
/// Thread-safe; the input buffer is pinned and reused while the shape stays the same.
/// </summary>
public sealed class VaeDecoder : IDisposable
{
    private static readonly string[] InputNames = ["latent_sample"];

    private readonly ModelSession _model;
    private readonly DeclaredTensor _latents;
    private readonly string[] _outputNames;
    private readonly TensorElementType _outputType;
    private readonly Lock _gate = new();
    private PinnedTensor? _input;

    private VaeDecoder(ModelSession model)
    {
        _model = model;
        _latents = model.Signature.Input("latent_sample", [TensorElementType.Float, TensorElementType.Float16], 4);
        var output = model.Signature.Output(["sample"], [TensorElementType.Float, TensorElementType.Float16], 4);
        _outputNames = [output.Name];
        _outputType = output.ElementType;
    }

    /// <summary>Opens the decoder at <paramref name="modelPath"/> through <paramref name="cache"/> and checks its inputs.</summary>
    /// <param name="cache">The host's session cache.</param>
    /// <param name="modelPath">Usually <c>vae_decoder/model.onnx</c> of a model folder.</param>
    /// <param name="options">Session options; CPU when omitted.</param>
    /// <exception cref="ModelMismatchException">The model lacks <c>latent_sample</c> or a 4-d float output.</exception>
    public static VaeDecoder Open(OnnxSessionCache cache, string modelPath, OnnxSessionOptions? options = null) =>
        Open(cache, new OnnxModelSource(modelPath, options));

    /// <summary>Opens the model <paramref name="source"/> describes (file, weight overrides, options) through <paramref name="cache"/>.</summary>
    /// <param name="cache">The host's session cache.</param>
    /// <param name="source">The model description.</param>
    public static VaeDecoder Open(OnnxSessionCache cache, OnnxModelSource source) =>
        new(new ModelSession(cache, source, "VAE decoder"));

    /// <summary>The description the sessions are created from.</summary>
    public OnnxModelSource Source => _model.Source;

    /// <summary>The weights the graph declares (what overrides may name).</summary>
    public IReadOnlyList<FlowDiffusion.Sdk.Models.WeightInfo> Weights => _model.Weights;

    /// <summary>
    /// The same model with <paramref name="overrides"/> bound after this one's; no session is created until the new
    /// one first runs, and this one is unchanged.
    /// </summary>
    /// <exception cref="ArgumentException">An override names a weight the graph lacks.</exception>
    public VaeDecoder WithOverrides(IEnumerable<FlowDiffusion.Sdk.Models.WeightOverride> overrides) => new(_model.WithOverrides(overrides));

    /// <summary>The model file.</summary>
    public string ModelPath => _model.ModelPath;

    /// <summary>Total time spent inside ONNX Runtime's <c>Run</c> for this model.</summary>
    public TimeSpan RunTime => _model.RunTime;

    /// <summary>The number of model evaluations.</summary>
    public int RunCount => _model.RunCount;

    /// <summary>How many pixels one latent covers along each axis (SD 1.x, 2.x and XL VAEs all upsample 8×).</summary>
    public const int ScaleFactor = 8;

    /// <summary>Decodes latents that are already divided by the VAE scaling factor.</summary>
    /// <param name="latents">Unscaled latents, [B, C, h, w] row-major.</param>
    /// <param name="shape">Their shape, [B, C, h, w].</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    /// <returns>The decoded images as float32 [B, 3, 8h, 8w], in the model's range (about [-1, 1]).</returns>
    public FloatTensor Decode(ReadOnlySpan<float> latents, ReadOnlySpan<int> shape, CancellationToken cancellationToken = default)
    {
        var output = OutputShape(shape);
        var values = GC.AllocateUninitializedArray<float>(output[0] * output[1] * output[2] * output[3]);
        DecodeInto(latents, shape, values, cancellationToken);
        return new FloatTensor(values, output);
    }

    /// <summary>
    /// Decodes latents into <paramref name="destination"/>, [B, 3, 8h, 8w] floats: a float32 model writes its output
    /// straight into it (ONNX Runtime allocates no output of its own and nothing is copied); a float16 model's output
    /// is converted into it.
    /// </summary>
    /// <param name="latents">Unscaled latents, [B, C, h, w] row-major.</param>
    /// <param name="shape">Their shape, [B, C, h, w].</param>
    /// <param name="destination">Receives the decoded images in the model's range (about [-1, 1]).</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    /// <exception cref="ModelMismatchException">The model's output is not [B, 3, 8h, 8w] float32 or float16.</exception>
    public void DecodeInto(ReadOnlySpan<float> latents, ReadOnlySpan<int> shape, float[] destination, CancellationToken cancellationToken = default)
    {
        var output = OutputShape(shape);
        var length = output[0] * output[1] * output[2] * output[3];
        if (destination.Length != length)
            throw new ArgumentException($"Decoding [{string.Join(", ", shape.ToArray())}] gives [{string.Join(", ", output)}]: {length} values, but the destination holds {destination.Length}.", nameof(destination));
        lock (_gate)
        {
            if (_latents.Fixed(0) == 1 && shape[0] > 1)
            {
                // An export with the batch fixed at 1: decode image by image, as diffusers does.
                int[] one = [1, shape[1], shape[2], shape[3]];
                int[] oneOutput = [1, output[1], output[2], output[3]];
                var latentLength = one[1] * one[2] * one[3];
                var imageLength = oneOutput[1] * oneOutput[2] * oneOutput[3];
                for (var b = 0; b < shape[0]; b++)
                {
                    var input = Inputs.Reuse(ref _input, _latents, latents.Slice(b * latentLength, latentLength), one, ModelPath);
                    Run(input, one, oneOutput, destination.AsMemory(b * imageLength, imageLength), cancellationToken);
                }
                return;
            }
            var all = Inputs.Reuse(ref _input, _latents, latents, shape, ModelPath);
            Run(all, shape, output, destination, cancellationToken);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            _input?.Dispose();
            _input = null;
        }
    }

    private void Run(PinnedTensor input, ReadOnlySpan<int> shape, int[] output, Memory<float> destination, CancellationToken cancellationToken)
    {
        if (_outputType == TensorElementType.Float)
        {
            using var bound = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, destination, output.Select(d => (long)d).ToArray());
            try
            {
                _model.Run(InputNames, [input.Value], _outputNames, [bound], cancellationToken);
            }
            catch (OnnxRuntimeException error) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ModelMismatchException(ModelPath, $"'{ModelPath}' did not decode [{string.Join(", ", shape.ToArray())}] latents to [{string.Join(", ", output)}] images ({ScaleFactor}× upsampling): {error.Message}");
            }
            return;
        }
        using var results = _model.Run(InputNames, [input.Value], _outputNames, cancellationToken);
        var converted = OutputTensors.ToFloat(results[0], ModelPath, _outputNames[0]);
        if (!converted.Shape.SequenceEqual(output))
            throw new ModelMismatchException(ModelPath, $"'{ModelPath}' decoded [{string.Join(", ", shape.ToArray())}] latents to [{string.Join(", ", converted.Shape)}], not [{string.Join(", ", output)}] ({ScaleFactor}× upsampling).");
        converted.Values.CopyTo(destination.Span);
    }

    private static int[] OutputShape(ReadOnlySpan<int> shape) =>
        shape.Length == 4
            ? [shape[0], 3, checked(shape[2] * ScaleFactor), checked(shape[3] * ScaleFactor)]
            : throw new ArgumentException($"Latents are [B, C, h, w]; a rank-{shape.Length} shape was given.", nameof(shape));
}
