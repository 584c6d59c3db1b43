using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// An annotator's graph that maps an image to one plane at its size (built from the annotator's torch weights by
/// FlowDiffusion.Checkpoints: HedGraph's edge logits, PidinetGraph's edge probabilities, DepthAnythingGraph's depth): one input [1, 3, h, w], one output
/// [1, 1, h, w] (<see cref="Run"/>); or, read with <see cref="RunPlanes"/>, [1, c, h / s, w / s] (MlsdGraph's five maps at half
/// the size); or, opened with several outputs, each output whole (<see cref="RunAll"/>: OpenPoseBodyGraph's PAFs and
/// heatmaps). Thread-safe: calls are serialised.
/// </summary>
public sealed class AnnotatorMapNetwork
{
    private readonly ModelSession _model;
    private readonly DeclaredTensor _input;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly string _kind;
    private readonly Lock _gate = new();

    private AnnotatorMapNetwork(ModelSession model, string kind, int outputs)
    {
        _model = model;
        _input = model.Signature.SoleInput([TensorElementType.Float], 4);
        if (model.Signature.Outputs.Count != outputs)
            throw model.Signature.Mismatch(outputs == 1 ? "one output [1, 1, h, w]" : $"{outputs} outputs");
        _inputNames = [_input.Name];
        _outputNames = [.. model.Signature.Outputs.Select(o => o.Name)];
        _kind = kind;
    }

    /// <summary>Opens the graph <paramref name="source"/> describes through <paramref name="cache"/> and checks its signature.</summary>
    /// <param name="cache">The host's session cache.</param>
    /// <param name="source">The model file and options.</param>
    /// <param name="kind">The annotator, for messages and the session's label ("hed", "pidinet", "depth_anything").</param>
    /// <param name="outputs">How many outputs the graph has (one for <see cref="Run"/>).</param>
    public static AnnotatorMapNetwork Open(OnnxSessionCache cache, OnnxModelSource source, string kind, int outputs = 1) => new(new ModelSession(cache, source, kind), kind, outputs);

    /// <summary>The model file.</summary>
    public string ModelPath => _model.ModelPath;

    /// <summary>Runs the network on one planar [3, height, width] image (as the graph expects it); returns its height × width plane.</summary>
    /// <param name="pixels">The image.</param>
    /// <param name="height">Its height.</param>
    /// <param name="width">Its width.</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    public float[] Run(ReadOnlySpan<float> pixels, int height, int width, CancellationToken cancellationToken = default) =>
        RunPlanes(pixels, height, width, 1, 1, cancellationToken);

    /// <summary>Runs the network on one planar [3, height, width] image; returns its <paramref name="planes"/> planes of (height / <paramref name="shrink"/>) × (width / <paramref name="shrink"/>).</summary>
    /// <param name="pixels">The image.</param>
    /// <param name="height">Its height.</param>
    /// <param name="width">Its width.</param>
    /// <param name="planes">The output's channels.</param>
    /// <param name="shrink">How many times smaller the output's sides are.</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    public float[] RunPlanes(ReadOnlySpan<float> pixels, int height, int width, int planes, int shrink, CancellationToken cancellationToken = default)
    {
        var (outHeight, outWidth) = (height / shrink, width / shrink);
        lock (_gate)
        {
            using var input = Inputs.Pinned(_input, pixels, [1, 3, height, width], ModelPath);
            using var results = _model.Run(_inputNames, [input.Value], _outputNames, cancellationToken);
            var map = OutputTensors.ToFloat(results[0], ModelPath, _outputNames[0]);
            if (!map.Shape.SequenceEqual([1, planes, outHeight, outWidth]))
                throw new ModelMismatchException(ModelPath, $"The {_kind} graph '{ModelPath}' returned [{string.Join(", ", map.Shape)}] for a {width}×{height} image; [1, {planes}, {outHeight}, {outWidth}] expected.");
            return map.Values;
        }
    }

    /// <summary>Runs the network on one planar [3, height, width] image; returns every output with its shape, in the graph's order.</summary>
    /// <param name="pixels">The image.</param>
    /// <param name="height">Its height.</param>
    /// <param name="width">Its width.</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    public (float[] Values, int[] Shape)[] RunAll(ReadOnlySpan<float> pixels, int height, int width, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            using var input = Inputs.Pinned(_input, pixels, [1, 3, height, width], ModelPath);
            using var results = _model.Run(_inputNames, [input.Value], _outputNames, cancellationToken);
            var outputs = new (float[], int[])[_outputNames.Length];
            for (var i = 0; i < outputs.Length; i++)
            {
                var tensor = OutputTensors.ToFloat(results[i], ModelPath, _outputNames[i]);
                outputs[i] = (tensor.Values, tensor.Shape);
            }

            return outputs;
        }
    }
}
