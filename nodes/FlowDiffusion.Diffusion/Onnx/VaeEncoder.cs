using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A diffusers ONNX VAE encoder: <c>sample</c> [B, 3, H, W] in [-1, 1] → latents [B, 4, H/8, W/8]. Exports differ:
/// older ones output <c>latent_sample</c> (4 channels), optimum outputs <c>latent_parameters</c> (8 channels: the
/// mean, then the log-variance of the latent distribution). Thread-safe; the input buffer is pinned and reused while
/// the shape stays the same.
/// </summary>
public sealed class VaeEncoder : IDisposable
{
    private const int LatentChannels = 4;
    private static readonly string[] InputNames = ["sample"];

    private readonly ModelSession _model;
    private readonly DeclaredTensor _image;
    private readonly string[] _outputNames;
    private readonly Lock _gate = new();
    private PinnedTensor? _input;

    private VaeEncoder(ModelSession model)
    {
        _model = model;
        var signature = model.Signature;
        _image = signature.Input("sample", [TensorElementType.Float, TensorElementType.Float16], 4);
        var output = signature.Output(["latent_parameters", "latent_sample"], [TensorElementType.Float, TensorElementType.Float16], 4);
        OutputsDistribution = output.Name == "latent_parameters" || output.Fixed(1) == 2 * LatentChannels;
        _outputNames = [output.Name];
    }

    /// <summary>Opens the encoder at <paramref name="modelPath"/> through <paramref name="cache"/> and checks its inputs.</summary>
    /// <param name="cache">The host's session cache.</param>
    /// <param name="modelPath">Usually <c>vae_encoder/model.onnx</c> of a model folder.</param>
    /// <param name="options">Session options; CPU when omitted.</param>
    /// <exception cref="ModelMismatchException">The model lacks <c>sample</c> or a latent output.</exception>
    public static VaeEncoder Open(OnnxSessionCache cache, string modelPath, OnnxSessionOptions? options = null) =>
        Open(cache, new OnnxModelSource(modelPath, options));

    /// <summary>Opens the model <paramref name="source"/> describes (file, weight overrides, options) through <paramref name="cache"/>.</summary>
    /// <param name="cache">The host's session cache.</param>
    /// <param name="source">The model description.</param>
    public static VaeEncoder Open(OnnxSessionCache cache, OnnxModelSource source) =>
        new(new ModelSession(cache, source, "VAE encoder"));

    /// <summary>The description the sessions are created from.</summary>
    public OnnxModelSource Source => _model.Source;

    /// <summary>The weights the graph declares (what overrides may name).</summary>
    public IReadOnlyList<FlowDiffusion.Sdk.Models.WeightInfo> Weights => _model.Weights;

    /// <summary>
    /// The same model with <paramref name="overrides"/> bound after this one's; no session is created until the new
    /// one first runs, and this one is unchanged.
    /// </summary>
    /// <exception cref="ArgumentException">An override names a weight the graph lacks.</exception>
    public VaeEncoder WithOverrides(IEnumerable<FlowDiffusion.Sdk.Models.WeightOverride> overrides) => new(_model.WithOverrides(overrides));

    /// <summary>The model file.</summary>
    public string ModelPath => _model.ModelPath;

    /// <summary>Whether the export outputs the distribution (<c>latent_parameters</c>: mean and log-variance) rather than latents.</summary>
    public bool OutputsDistribution { get; }

    /// <summary>Total time spent inside ONNX Runtime's <c>Run</c> for this model.</summary>
    public TimeSpan RunTime => _model.RunTime;

    /// <summary>The number of model evaluations.</summary>
    public int RunCount => _model.RunCount;

    /// <summary>
    /// Encodes images to unscaled latents (multiply by the VAE scaling factor before sampling).
    /// </summary>
    /// <param name="image">Images in [-1, 1], [B, 3, H, W] row-major.</param>
    /// <param name="shape">Their shape, [B, 3, H, W].</param>
    /// <param name="noise">
    /// When given and the export outputs the distribution, the latents are sampled as mean + exp(½·logvar)·ε with ε
    /// drawn for the whole [B, 4, h, w] tensor, as diffusers' <c>latent_dist.sample()</c> does; otherwise the mean is returned.
    /// Exports that output <c>latent_sample</c> are returned as they come.
    /// </param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    /// <returns>Latents as float32 [B, 4, h, w].</returns>
    public FloatTensor Encode(ReadOnlySpan<float> image, ReadOnlySpan<int> shape, INoiseSource? noise = null, CancellationToken cancellationToken = default)
    {
        FloatTensor output;
        lock (_gate)
        {
            output = _image.Fixed(0) == 1 && shape.Length == 4 && shape[0] > 1
                ? EncodeOneByOne(image, shape, cancellationToken)
                : EncodeBatch(image, shape, cancellationToken);
        }
        if (!OutputsDistribution)
        {
            return output;
        }
        var (batch, channels, height, width) = (output.Shape[0], output.Shape[1], output.Shape[2], output.Shape[3]);
        if (channels != 2 * LatentChannels)
        {
            throw _model.Signature.Mismatch($"'{_outputNames[0]}' with {2 * LatentChannels} channels (mean and log-variance), but it produced {output}");
        }
        var plane = LatentChannels * height * width;
        var latents = new float[batch * plane];
        float[]? epsilon = null;
        if (noise is not null)
        {
            epsilon = new float[latents.Length];
            noise.FillStandardNormal(epsilon);
        }
        for (var b = 0; b < batch; b++)
        {
            var mean = output.Values.AsSpan(b * 2 * plane, plane);
            var target = latents.AsSpan(b * plane, plane);
            if (epsilon is null)
            {
                mean.CopyTo(target);
                continue;
            }
            var logVariance = output.Values.AsSpan(b * 2 * plane + plane, plane);
            for (var i = 0; i < plane; i++)
            {
                // diffusers clamps the log-variance to [-30, 20] before taking the standard deviation.
                var std = MathF.Exp(0.5f * Math.Clamp(logVariance[i], -30f, 20f));
                target[i] = mean[i] + std * epsilon[b * plane + i];
            }
        }
        return new FloatTensor(latents, [batch, LatentChannels, height, width]);
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

    // Called under _gate.
    private FloatTensor EncodeBatch(ReadOnlySpan<float> image, ReadOnlySpan<int> shape, CancellationToken cancellationToken)
    {
        var input = Inputs.Reuse(ref _input, _image, image, shape, ModelPath);
        using var results = _model.Run(InputNames, [input.Value], _outputNames, cancellationToken);
        return OutputTensors.ToFloat(results[0], ModelPath, _outputNames[0]);
    }

    // An export with the batch fixed at 1: encode image by image, as diffusers does. Called under _gate.
    private FloatTensor EncodeOneByOne(ReadOnlySpan<float> image, ReadOnlySpan<int> shape, CancellationToken cancellationToken)
    {
        int[] one = [1, shape[1], shape[2], shape[3]];
        var length = one[1] * one[2] * one[3];
        float[]? values = null;
        int[] outputShape = [];
        for (var b = 0; b < shape[0]; b++)
        {
            var part = EncodeBatch(image.Slice(b * length, length), one, cancellationToken);
            values ??= new float[shape[0] * part.Values.Length];
            outputShape = [shape[0], .. part.Shape[1..]];
            part.Values.CopyTo(values, b * part.Values.Length);
        }
        return new FloatTensor(values!, outputShape);
    }
}
