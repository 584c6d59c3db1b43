using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A YOLOX person detector exported to ONNX (DWPose's <c>yolox_l.onnx</c>): one input [1, 3, h, w] (RGB 0..255,
/// letterboxed; 640 × 640 in the export), one output [1, anchors, 5 + classes] of raw box offsets, log-sizes,
/// objectness and class probabilities. Thread-safe: calls are serialised.
/// </summary>
public sealed class PersonDetectorNetwork
{
    private readonly ModelSession _model;
    private readonly DeclaredTensor _input;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly Lock _gate = new();

    private PersonDetectorNetwork(ModelSession model)
    {
        _model = model;
        _input = model.Signature.SoleInput([TensorElementType.Float, TensorElementType.Float16], 4);
        if (_input.Fixed(1) is { } channels && channels != 3)
            throw model.Signature.Mismatch("an RGB image input [1, 3, h, w]");
        _inputNames = [_input.Name];
        var output = model.Signature.Output([], [TensorElementType.Float, TensorElementType.Float16], 3);
        if (output.Fixed(2) is { } values && values < 6)
            throw model.Signature.Mismatch("an output [1, anchors, 5 + classes] (box, objectness, class scores)");
        _outputNames = [output.Name];
    }

    /// <summary>Opens the network <paramref name="source"/> describes through <paramref name="cache"/> and checks its signature.</summary>
    /// <param name="cache">The host's session cache.</param>
    /// <param name="source">The model file and options.</param>
    /// <exception cref="ModelMismatchException">The model lacks one 4-d image input or one 3-d output.</exception>
    public static PersonDetectorNetwork Open(OnnxSessionCache cache, OnnxModelSource source) => new(new ModelSession(cache, source, "person detector"));

    /// <summary>The model file.</summary>
    public string ModelPath => _model.ModelPath;

    /// <summary>The input height the export fixes, if it does.</summary>
    public int? FixedHeight => _input.Fixed(2);

    /// <summary>The input width the export fixes, if it does.</summary>
    public int? FixedWidth => _input.Fixed(3);

    /// <summary>Runs the detector on one letterboxed [3, height, width] input; returns its rows, row-major, and the values per row.</summary>
    /// <param name="pixels">The input, planar RGB 0..255.</param>
    /// <param name="height">Its height.</param>
    /// <param name="width">Its width.</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    /// <exception cref="ModelMismatchException">The output is not [1, anchors, values ≥ 6].</exception>
    public (float[] Predictions, int Anchors, int Values) Run(ReadOnlySpan<float> pixels, int height, int width, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            using var input = Inputs.Pinned(_input, pixels, [1, 3, height, width], ModelPath);
            using var results = _model.Run(_inputNames, [input.Value], _outputNames, cancellationToken);
            var output = OutputTensors.ToFloat(results[0], ModelPath, _outputNames[0]);
            var dims = output.Shape;
            if (dims.Length != 3 || dims[0] != 1 || dims[2] < 6)
                throw new ModelMismatchException(ModelPath, $"The person detector '{ModelPath}' returned [{string.Join(", ", dims)}] for one image; [1, anchors, 5 + classes] expected (a YOLOX export).");
            return (output.Values, dims[1], dims[2]);
        }
    }
}
