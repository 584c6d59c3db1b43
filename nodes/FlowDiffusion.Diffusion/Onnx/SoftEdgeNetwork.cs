using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A soft-edge annotator's graph built by FlowDiffusion.Checkpoints (HedGraph from <c>ControlNetHED.pth</c>: the mean of
/// the side outputs, before the sigmoid; PidinetGraph from <c>table5_pidinet.pth</c>: the fused output's sigmoid): one
/// input [1, 3, h, w] (RGB 0..255), one output [1, 1, h, w]. Thread-safe: calls are serialised.
/// </summary>
public sealed class SoftEdgeNetwork
{
    private readonly ModelSession _model;
    private readonly DeclaredTensor _input;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly Lock _gate = new();

    private SoftEdgeNetwork(ModelSession model)
    {
        _model = model;
        _input = model.Signature.SoleInput([TensorElementType.Float], 4);
        if (model.Signature.Outputs.Count != 1)
            throw model.Signature.Mismatch("one edge output [1, 1, h, w]");
        _inputNames = [_input.Name];
        _outputNames = [model.Signature.Outputs[0].Name];
    }

    /// <summary>Opens the graph <paramref name="source"/> describes through <paramref name="cache"/> and checks its signature.</summary>
    /// <param name="cache">The host's session cache.</param>
    /// <param name="source">The model file and options.</param>
    public static SoftEdgeNetwork Open(OnnxSessionCache cache, OnnxModelSource source) => new(new ModelSession(cache, source, "soft edges"));

    /// <summary>The model file.</summary>
    public string ModelPath => _model.ModelPath;

    /// <summary>Runs the network on one planar [3, height, width] image of 0..255 values; returns its height × width values.</summary>
    /// <param name="pixels">The image.</param>
    /// <param name="height">Its height.</param>
    /// <param name="width">Its width.</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    public float[] Run(ReadOnlySpan<float> pixels, int height, int width, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            using var input = Inputs.Pinned(_input, pixels, [1, 3, height, width], ModelPath);
            using var results = _model.Run(_inputNames, [input.Value], _outputNames, cancellationToken);
            var edges = OutputTensors.ToFloat(results[0], ModelPath, _outputNames[0]);
            if (!edges.Shape.SequenceEqual([1, 1, height, width]))
                throw new ModelMismatchException(ModelPath, $"The soft-edge graph '{ModelPath}' returned [{string.Join(", ", edges.Shape)}] for a {width}×{height} image; [1, 1, {height}, {width}] expected.");
            return edges.Values;
        }
    }
}
