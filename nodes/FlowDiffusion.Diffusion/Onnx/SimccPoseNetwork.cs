using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A top-down pose network with SimCC heads exported to ONNX (RTMPose; DWPose's <c>dw-ll_ucoco_384.onnx</c>): one input
/// [1, 3, h, w] (a normalised person crop, 384 × 288 in that export), outputs <c>simcc_x</c> [1, K, bins_x] and
/// <c>simcc_y</c> [1, K, bins_y] (K = 133 COCO-WholeBody keypoints; bins = 2 × the input side). Without those names, the
/// model's two outputs in order. Thread-safe: calls are serialised.
/// </summary>
public sealed class SimccPoseNetwork
{
    private readonly ModelSession _model;
    private readonly DeclaredTensor _input;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly Lock _gate = new();

    private SimccPoseNetwork(ModelSession model)
    {
        _model = model;
        _input = model.Signature.SoleInput([TensorElementType.Float, TensorElementType.Float16], 4);
        if (_input.Fixed(1) is { } channels && channels != 3)
            throw model.Signature.Mismatch("an RGB image input [1, 3, h, w]");
        _inputNames = [_input.Name];
        IReadOnlyList<DeclaredTensor> outputs = model.Signature.HasOutput("simcc_x") && model.Signature.HasOutput("simcc_y")
            ? [.. model.Signature.Outputs.Where(o => o.Name == "simcc_x"), .. model.Signature.Outputs.Where(o => o.Name == "simcc_y")]
            : model.Signature.Outputs;
        if (outputs.Count != 2 || outputs.Any(o => o.Rank != 3 || o.ElementType is not (TensorElementType.Float or TensorElementType.Float16)))
            throw model.Signature.Mismatch("two SimCC outputs simcc_x [1, K, bins_x] and simcc_y [1, K, bins_y] of type float32 or float16");
        _outputNames = [outputs[0].Name, outputs[1].Name];
    }

    /// <summary>Opens the network <paramref name="source"/> describes through <paramref name="cache"/> and checks its signature.</summary>
    /// <param name="cache">The host's session cache.</param>
    /// <param name="source">The model file and options.</param>
    /// <exception cref="ModelMismatchException">The model lacks one 4-d image input or the two 3-d SimCC outputs.</exception>
    public static SimccPoseNetwork Open(OnnxSessionCache cache, OnnxModelSource source) => new(new ModelSession(cache, source, "pose"));

    /// <summary>The model file.</summary>
    public string ModelPath => _model.ModelPath;

    /// <summary>The input height the export fixes, if it does.</summary>
    public int? FixedHeight => _input.Fixed(2);

    /// <summary>The input width the export fixes, if it does.</summary>
    public int? FixedWidth => _input.Fixed(3);

    /// <summary>Runs the network on one normalised [3, height, width] crop; returns both SimCC vectors and their sizes.</summary>
    /// <param name="pixels">The crop, planar.</param>
    /// <param name="height">Its height.</param>
    /// <param name="width">Its width.</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    /// <exception cref="ModelMismatchException">The outputs are not [1, K, bins] with the same K.</exception>
    public (float[] X, float[] Y, int Keypoints, int BinsX, int BinsY) Run(ReadOnlySpan<float> pixels, int height, int width, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            using var input = Inputs.Pinned(_input, pixels, [1, 3, height, width], ModelPath);
            using var results = _model.Run(_inputNames, [input.Value], _outputNames, cancellationToken);
            var x = OutputTensors.ToFloat(results[0], ModelPath, _outputNames[0]);
            var y = OutputTensors.ToFloat(results[1], ModelPath, _outputNames[1]);
            if (x.Shape.Length != 3 || y.Shape.Length != 3 || x.Shape[0] != 1 || y.Shape[0] != 1 || x.Shape[1] != y.Shape[1] || x.Shape[1] < 17 || x.Shape[2] < 1 || y.Shape[2] < 1)
                throw new ModelMismatchException(ModelPath, $"The pose model '{ModelPath}' returned [{string.Join(", ", x.Shape)}] and [{string.Join(", ", y.Shape)}] for one crop; "
                    + "SimCC vectors [1, K, bins_x] and [1, K, bins_y] with the same K ≥ 17 (COCO keypoints) expected.");
            return (x.Values, y.Values, x.Shape[1], x.Shape[2], y.Shape[2]);
        }
    }
}
