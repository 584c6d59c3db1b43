using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A dense-prediction annotator network exported to ONNX (a MiDaS/DPT depth export): one
/// RGB input [1, 3, h, w], one output map [1, h', w'] or [1, 1, h', w'] (relative inverse depth for MiDaS). The input size is the export's when it fixes one.
/// Thread-safe: calls are serialised.
/// </summary>
public sealed class AnnotatorNetwork
{
    private readonly ModelSession _model;
    private readonly DeclaredTensor _input;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly Lock _gate = new();

    private AnnotatorNetwork(ModelSession model)
    {
        _model = model;
        _input = model.Signature.SoleInput([TensorElementType.Float, TensorElementType.Float16], 4);
        if (_input.Fixed(1) is { } channels && channels != 3)
            throw model.Signature.Mismatch("an RGB image input [1, 3, h, w]");
        _inputNames = [_input.Name];
        _outputNames = [model.Signature.Output([], [TensorElementType.Float, TensorElementType.Float16], 3, 4).Name];
    }

    /// <summary>Opens the network <paramref name="source"/> describes through <paramref name="cache"/> and checks its signature.</summary>
    /// <param name="cache">The host's session cache.</param>
    /// <param name="source">The model file and options.</param>
    public static AnnotatorNetwork Open(OnnxSessionCache cache, OnnxModelSource source) => new(new ModelSession(cache, source, "annotator"));

    /// <summary>The model file.</summary>
    public string ModelPath => _model.ModelPath;

    /// <summary>The input height the export fixes, if it does.</summary>
    public int? FixedHeight => _input.Fixed(2);

    /// <summary>The input width the export fixes, if it does.</summary>
    public int? FixedWidth => _input.Fixed(3);

    /// <summary>Runs the network on one normalised [3, height, width] image and returns its single-plane map and size.</summary>
    /// <param name="pixels">The network's input, planar.</param>
    /// <param name="height">Its height.</param>
    /// <param name="width">Its width.</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    /// <exception cref="ModelMismatchException">The output is not one plane.</exception>
    public (float[] Map, int Height, int Width) Run(ReadOnlySpan<float> pixels, int height, int width, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            using var input = Inputs.Pinned(_input, pixels, [1, 3, height, width], ModelPath);
            using var results = _model.Run(_inputNames, [input.Value], _outputNames, cancellationToken);
            var dims = results[0].GetTensorTypeAndShape().Shape;
            var planes = dims.Length == 4 ? dims[0] * dims[1] : dims[0];
            if (planes != 1)
                throw new ModelMismatchException(ModelPath, $"The annotator '{ModelPath}' returned [{string.Join(", ", dims)}] for one image; one map [1, h, w] or [1, 1, h, w] expected.");
            var values = OutputTensors.ToFloat(results[0], ModelPath, _outputNames[0]).Values;
            return (values, (int)dims[^2], (int)dims[^1]);
        }
    }
}
