using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A CLIP image encoder ONNX graph: <c>pixel_values</c> float32 [B, 3, S, S] (preprocessed with CLIP's mean and std) →
/// <c>image_embeds</c> [B, projection], as the checkpoint builder writes it and as optimum exports
/// <c>CLIPVisionModelWithProjection</c>, and, when the graph gives it (the checkpoint builder's does),
/// <c>penultimate_hidden_states</c> [B, tokens, width] for IP-Adapter Plus. The side S is the one the graph declares (224
/// when it declares none).
/// </summary>
public sealed class ClipVisionModel
{
    /// <summary>CLIP's training resolution, used when the graph leaves the side dynamic.</summary>
    public const int DefaultImageSize = 224;

    private const string Penultimate = "penultimate_hidden_states";
    private static readonly TensorElementType[] Float32 = [TensorElementType.Float];
    private readonly ModelSession _model;

    private ClipVisionModel(ModelSession model)
    {
        _model = model;
        var signature = model.Signature;
        var pixels = signature.Input("pixel_values", Float32, 4);
        var embeds = signature.Output(["image_embeds"], Float32, 2);
        if (pixels.Fixed(1) is { } channels && channels != 3)
        {
            throw signature.Mismatch("pixel_values with 3 channels");
        }

        ImageSize = pixels.Fixed(2) ?? pixels.Fixed(3) ?? DefaultImageSize;
        EmbeddingWidth = embeds.Fixed(1);
        HasHiddenStates = signature.HasOutput(Penultimate);
    }

    /// <summary>Whether the graph gives the penultimate hidden states (IP-Adapter Plus's input).</summary>
    public bool HasHiddenStates { get; }

    /// <summary>Opens the graph <paramref name="source"/> describes through <paramref name="cache"/> and checks its signature.</summary>
    public static ClipVisionModel Open(OnnxSessionCache cache, OnnxModelSource source) => new(new ModelSession(cache, source, "CLIP vision"));

    /// <summary>The model file.</summary>
    public string ModelPath => _model.ModelPath;

    /// <summary>The square side the encoder takes.</summary>
    public int ImageSize { get; }

    /// <summary>The image embedding's width when the graph declares it.</summary>
    public int? EmbeddingWidth { get; }

    /// <summary>The image embeddings [batch, width] of preprocessed pixels [batch, 3, S, S].</summary>
    public (float[] Embeds, int Width) Encode(float[] pixels, int batch, CancellationToken cancellationToken)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(pixels, [batch, 3, ImageSize, ImageSize]);
        using var results = _model.Run(["pixel_values"], [input], ["image_embeds"], cancellationToken);
        var shape = results[0].GetTensorTypeAndShape().Shape;
        return (results[0].GetTensorDataAsSpan<float>().ToArray(), (int)shape[^1]);
    }

    /// <summary>
    /// The image embeddings [batch, width] and the penultimate hidden states of preprocessed pixels [batch, 3, S, S], and
    /// the hidden states of zero pixel values, or of <paramref name="unconditional"/> (one preprocessed image [3, S, S]),
    /// encoded in the same call as one more row: the unconditional side.
    /// </summary>
    public (float[] Embeds, int Width, ClipVisionHiddenStates HiddenStates) EncodeWithHiddenStates(float[] pixels, int batch, CancellationToken cancellationToken,
        float[]? unconditional = null)
    {
        if (!HasHiddenStates)
        {
            throw new InvalidOperationException($"the CLIP vision model '{ModelPath}' gives no {Penultimate}");
        }

        var rows = new float[pixels.Length + (3 * ImageSize * ImageSize)];
        pixels.CopyTo(rows, 0);
        unconditional?.AsSpan(0, 3 * ImageSize * ImageSize).CopyTo(rows.AsSpan(pixels.Length));
        using var input = OrtValue.CreateTensorValueFromMemory(rows, [batch + 1, 3, ImageSize, ImageSize]);
        using var results = _model.Run(["pixel_values"], [input], ["image_embeds", Penultimate], cancellationToken);
        var width = (int)results[0].GetTensorTypeAndShape().Shape[^1];
        var states = results[1].GetTensorTypeAndShape().Shape;
        var (tokens, hidden) = ((int)states[1], (int)states[2]);
        var item = tokens * hidden;
        var all = results[1].GetTensorDataAsSpan<float>();
        var embeds = results[0].GetTensorDataAsSpan<float>()[..(batch * width)].ToArray();
        return (embeds, width, new ClipVisionHiddenStates(batch, tokens, hidden, all[..(batch * item)].ToArray(), all.Slice(batch * item, item).ToArray()));
    }
}
