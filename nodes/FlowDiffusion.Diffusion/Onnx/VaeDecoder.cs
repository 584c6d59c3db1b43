using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>A diffusers ONNX VAE decoder: <c>latent_sample</c> [B, 4, h, w] → <c>sample</c> [B, 3, 8h, 8w] in about [-1, 1].</summary>
public sealed class VaeDecoder
{
    private static readonly string[] InputNames = ["latent_sample"];

    private readonly ModelSession _model;
    private readonly DeclaredTensor _latents;
    private readonly string[] _outputNames;

    private VaeDecoder(ModelSession model)
    {
        _model = model;
        _latents = model.Signature.Input("latent_sample", [TensorElementType.Float, TensorElementType.Float16], 4);
        _outputNames = [model.Signature.Output(["sample"], [TensorElementType.Float, TensorElementType.Float16], 4).Name];
    }

    /// <summary>Opens the decoder at <paramref name="modelPath"/> through <paramref name="cache"/> and checks its inputs.</summary>
    /// <param name="cache">The host's session cache.</param>
    /// <param name="modelPath">Usually <c>vae_decoder/model.onnx</c> of a model folder.</param>
    /// <param name="options">Session options; CPU when omitted.</param>
    /// <exception cref="ModelMismatchException">The model lacks <c>latent_sample</c> or a 4-d float output.</exception>
    public static VaeDecoder Open(OnnxSessionCache cache, string modelPath, OnnxSessionOptions? options = null) =>
        new(new ModelSession(cache, modelPath, options, "VAE decoder"));

    /// <summary>The model file.</summary>
    public string ModelPath => _model.ModelPath;

    /// <summary>Total time spent inside ONNX Runtime's <c>Run</c> for this model.</summary>
    public TimeSpan RunTime => _model.RunTime;

    /// <summary>The number of model evaluations.</summary>
    public int RunCount => _model.RunCount;

    /// <summary>Decodes latents that are already divided by the VAE scaling factor.</summary>
    /// <param name="latents">Unscaled latents, [B, C, h, w] row-major.</param>
    /// <param name="shape">Their shape, [B, C, h, w].</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    /// <returns>The decoded images as float32 [B, 3, H, W], in the model's range (about [-1, 1]).</returns>
    public FloatTensor Decode(ReadOnlySpan<float> latents, ReadOnlySpan<int> shape, CancellationToken cancellationToken = default)
    {
        using var input = Inputs.Pinned(_latents, latents, shape, ModelPath);
        using var results = _model.Run(InputNames, [input.Value], _outputNames, cancellationToken);
        return OutputTensors.ToFloat(results[0], ModelPath, _outputNames[0]);
    }

    /// <summary>
    /// Decodes latents and lets <paramref name="read"/> turn the output into its result while ONNX Runtime still owns
    /// it, so a caller that post-processes the image writes it once instead of copying it first.
    /// </summary>
    /// <param name="latents">Unscaled latents, [B, C, h, w] row-major.</param>
    /// <param name="shape">Their shape, [B, C, h, w].</param>
    /// <param name="read">Receives the decoded values as float32 [B, 3, H, W] (about [-1, 1]) and that shape; the span is valid only during the call.</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    public TResult Decode<TResult>(ReadOnlySpan<float> latents, ReadOnlySpan<int> shape, DecodedReader<TResult> read, CancellationToken cancellationToken = default)
    {
        using var input = Inputs.Pinned(_latents, latents, shape, ModelPath);
        using var results = _model.Run(InputNames, [input.Value], _outputNames, cancellationToken);
        var output = results[0];
        var info = output.GetTensorTypeAndShape();
        if (info.ElementDataType != TensorElementType.Float)
        {
            var converted = OutputTensors.ToFloat(output, ModelPath, _outputNames[0]);
            return read(converted.Values, converted.Shape);
        }
        return read(output.GetTensorDataAsSpan<float>(), info.Shape.Select(d => checked((int)d)).ToArray());
    }
}
