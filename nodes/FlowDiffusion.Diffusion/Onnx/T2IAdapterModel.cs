using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A T2I-Adapter ONNX graph (<c>image</c> [B, 1 or 3, H, W] in 0..1 → <c>feature_0</c> …, one per level), float32, as the
/// checkpoint builder writes it. The features depend on the control image alone, not on the latents or the timestep, so a
/// caller computes them once per image and size and adds them, scaled, at every step.
/// </summary>
public sealed class T2IAdapterModel
{
    private static readonly TensorElementType[] Float32 = [TensorElementType.Float];
    private readonly ModelSession _model;
    private readonly string[] _outputs;

    private T2IAdapterModel(ModelSession model)
    {
        _model = model;
        var signature = model.Signature;
        var image = signature.Input("image", Float32, 4);
        InputChannels = image.Fixed(1) is 1 or 3 ? image.Fixed(1)!.Value : throw signature.Mismatch("input 'image' with 1 or 3 channels");
        _outputs = [.. Enumerable.Range(0, 16).Select(i => $"feature_{i}").TakeWhile(signature.HasOutput)];
        if (_outputs.Length == 0)
        {
            throw signature.Mismatch("outputs feature_0 … (T2I-Adapter features)");
        }
    }

    /// <summary>Opens the graph <paramref name="source"/> describes through <paramref name="cache"/> and checks its inputs and outputs.</summary>
    public static T2IAdapterModel Open(OnnxSessionCache cache, OnnxModelSource source) => new(new ModelSession(cache, source, "T2I-Adapter"));

    /// <summary>The control image's channels: 3, or 1 for adapters trained on grey images (sketch).</summary>
    public int InputChannels { get; }

    /// <summary>The model file.</summary>
    public string ModelPath => _model.ModelPath;

    /// <summary>How many features it gives (one per level).</summary>
    public int FeatureCount => _outputs.Length;

    /// <summary>The features of <paramref name="image"/> ([B, <see cref="InputChannels"/>, H, W] in 0..1), in level order.</summary>
    public IReadOnlyList<ControlResidual> Predict(float[] image, long[] shape, CancellationToken cancellationToken)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(image, shape);
        using var results = _model.Run(["image"], [input], _outputs, cancellationToken);
        return [.. _outputs.Select((name, i) => new ControlResidual(name, results[i].GetTensorDataAsSpan<float>().ToArray(), results[i].GetTensorTypeAndShape().Shape))];
    }
}
