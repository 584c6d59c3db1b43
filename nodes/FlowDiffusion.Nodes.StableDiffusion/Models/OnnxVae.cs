using System.Numerics;
using System.Numerics.Tensors;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>The VAE encoder and decoder of a model folder, converting between [0, 1] images and scaled latents.</summary>
internal sealed class OnnxVae(ModelFolder folder, OnnxSessionCache sessions, OnnxSessionOptions options) : IVae
{
    private readonly Lazy<VaeDecoder> _decoder = new(() => VaeDecoder.Open(sessions, folder.VaeDecoderPath, options));
    private readonly Lazy<VaeEncoder> _encoder = new(() => VaeEncoder.Open(sessions, folder.RequireVaeEncoder(), options));

    private readonly Lock _lock = new();

    public float ScalingFactor => folder.VaeScalingFactor;

    public VaeDecoder Decoder => _decoder.Value;

    public Task<Latent> EncodeAsync(Image image, CancellationToken cancellationToken) => Task.Run(() =>
    {
        if (image.Width % 8 != 0 || image.Height % 8 != 0)
            throw new ArgumentException($"the image is {image.Width}×{image.Height}; the VAE needs width and height that are multiples of 8");
        var input = image.ToArray();
        for (var i = 0; i < input.Length; i++) input[i] = input[i] * 2f - 1f;
        Diffusion.Onnx.FloatTensor latent;
        lock (_lock)
        {
            var before = _encoder.Value.RunTime;
            latent = _encoder.Value.Encode(input, [image.Batch, 3, image.Height, image.Width], null, cancellationToken);
            OnnxClock.Add(_encoder.Value.RunTime - before);
        }
        var values = latent.Values;
        for (var i = 0; i < values.Length; i++) values[i] *= ScalingFactor;
        return new Latent(latent.Shape[0], latent.Shape[1], latent.Shape[2], latent.Shape[3], values);
    }, cancellationToken);

    public Task<Image> DecodeAsync(Latent latent, CancellationToken cancellationToken) => Task.Run(() =>
    {
        var input = GC.AllocateUninitializedArray<float>(latent.Values.Length);
        TensorPrimitives.Multiply(latent.Values, 1f / ScalingFactor, input);
        lock (_lock)
        {
            var before = _decoder.Value.RunTime;
            try
            {
                // The image is written once, mapped straight from ONNX Runtime's output (not copied out first).
                return _decoder.Value.Decode(input, [latent.Batch, latent.Channels, latent.Height, latent.Width], static (values, shape) =>
                {
                    var pixels = GC.AllocateUninitializedArray<float>(values.Length);
                    ToUnitRange(values, pixels);
                    return new Image(shape[0], shape[2], shape[3], pixels);
                }, cancellationToken);
            }
            finally
            {
                OnnxClock.Add(_decoder.Value.RunTime - before);
            }
        }
    }, cancellationToken);

    // x * 0.5 + 0.5 clamped to [0, 1], a vector at a time, with the scalar Math.Clamp's exact results (the multiply
    // and the add round separately; NaN stays NaN).
    private static void ToUnitRange(ReadOnlySpan<float> decoded, Span<float> pixels)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var half = new Vector<float>(0.5f);
            for (; i + Vector<float>.Count <= decoded.Length; i += Vector<float>.Count)
            {
                var v = new Vector<float>(decoded[i..]) * half + half;
                v = Vector.ConditionalSelect(Vector.LessThan(v, Vector<float>.Zero), Vector<float>.Zero, v);
                v = Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.One), Vector<float>.One, v);
                v.CopyTo(pixels[i..]);
            }
        }
        for (; i < decoded.Length; i++) pixels[i] = Math.Clamp(decoded[i] * 0.5f + 0.5f, 0f, 1f);
    }
}
