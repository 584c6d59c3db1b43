using System.Buffers;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// An image super-resolution network (ESRGAN, Real-ESRGAN, 4x-UltraSharp, SwinIR … exported to ONNX): one input
/// [B, 3, h, w] RGB in [0, 1], one output [B, 3, s·h, s·w]. The scale s is read from the output's shape on the first
/// run, since exports leave it symbolic. Thread-safe; the input buffer is pinned and reused while the tile size stays.
/// </summary>
public sealed class UpscaleNetwork : IDisposable
{
    private readonly ModelSession _model;
    private readonly DeclaredTensor _input;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly Lock _gate = new();
    private PinnedTensor? _buffer;

    private UpscaleNetwork(ModelSession model)
    {
        _model = model;
        _input = model.Signature.SoleInput([TensorElementType.Float, TensorElementType.Float16], 4);
        if (_input.Fixed(1) is { } channels && channels != 3)
            throw model.Signature.Mismatch("an RGB image input [B, 3, h, w]");
        _inputNames = [_input.Name];
        _outputNames = [model.Signature.Output([], [TensorElementType.Float, TensorElementType.Float16], 4).Name];
    }

    /// <summary>Opens the network <paramref name="source"/> describes through <paramref name="cache"/> and checks its signature.</summary>
    /// <param name="cache">The host's session cache.</param>
    /// <param name="source">The model file and options.</param>
    /// <exception cref="ModelMismatchException">The model lacks a single 4-d float input or output.</exception>
    public static UpscaleNetwork Open(OnnxSessionCache cache, OnnxModelSource source) => new(new ModelSession(cache, source, "upscale"));

    /// <summary>The model file.</summary>
    public string ModelPath => _model.ModelPath;

    /// <summary>The upscale factor, known after the first run.</summary>
    public int? Scale { get; private set; }

    /// <summary>The input height the export fixes, if it does (the tile height must then be this).</summary>
    public int? FixedHeight => _input.Fixed(2);

    /// <summary>The input width the export fixes, if it does.</summary>
    public int? FixedWidth => _input.Fixed(3);

    /// <summary>The number of evaluations so far.</summary>
    public int RunCount => _model.RunCount;

    /// <summary>
    /// Upscales one [3, <paramref name="height"/>, <paramref name="width"/>] image and hands the
    /// [3, s·height, s·width] result (valid only during the call) and s to <paramref name="consume"/>.
    /// </summary>
    /// <param name="pixels">Planar RGB in [0, 1].</param>
    /// <param name="height">Its height.</param>
    /// <param name="width">Its width.</param>
    /// <param name="consume">Receives the output and the scale.</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    /// <exception cref="ModelMismatchException">The output is not an integer upscale of the input.</exception>
    public void Run(ReadOnlySpan<float> pixels, int height, int width, ReadOnlySpanAction<float, int> consume, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            int[] shape = [1, 3, height, width];
            var input = Inputs.Reuse(ref _buffer, _input, pixels, shape, ModelPath);
            using var results = _model.Run(_inputNames, [input.Value], _outputNames, cancellationToken);
            var info = results[0].GetTensorTypeAndShape();
            var dims = info.Shape;
            var scale = dims.Length == 4 && dims[2] % height == 0 ? (int)(dims[2] / height) : 0;
            if (dims.Length != 4 || dims[0] != 1 || dims[1] != 3 || scale < 1 || dims[2] != (long)scale * height || dims[3] != (long)scale * width)
                throw new ModelMismatchException(ModelPath,
                    $"The upscale model '{ModelPath}' turned a [1, 3, {height}, {width}] image into [{string.Join(", ", dims)}]; an upscale model must return [1, 3, s·{height}, s·{width}] for a whole number s.");
            if (Scale is { } known && known != scale)
                throw new ModelMismatchException(ModelPath, $"The upscale model '{ModelPath}' scaled one input {known}× and another {scale}×.");
            Scale = scale;
            if (info.ElementDataType == TensorElementType.Float)
            {
                consume(results[0].GetTensorDataAsSpan<float>(), scale);
            }
            else
            {
                consume(OutputTensors.ToFloat(results[0], ModelPath, _outputNames[0]).Values, scale);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            _buffer?.Dispose();
            _buffer = null;
        }
    }
}
