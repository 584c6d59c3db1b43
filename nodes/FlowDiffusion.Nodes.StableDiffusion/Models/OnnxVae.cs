using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>The VAE encoder and decoder of a model folder, converting between [0, 1] images and scaled latents.</summary>
internal sealed class OnnxVae(VaeFiles files, OnnxSessionCache sessions, OnnxSessionOptions options) : IVae, IDisposable
{
    private readonly Lazy<VaeDecoder> _decoder = new(() => VaeDecoder.Open(sessions, files.DecoderPath, options));
    private readonly Lazy<VaeEncoder> _encoder = new(() => VaeEncoder.Open(sessions, files.RequireEncoder(), options));

    private readonly Lock _lock = new();

    public OnnxVae(ModelFolder folder, OnnxSessionCache sessions, OnnxSessionOptions options)
        : this(VaeFiles.Of(folder), sessions, options)
    {
    }

    public VaeFiles Files => files;

    public float ScalingFactor => files.ScalingFactor;

    public VaeDecoder Decoder => _decoder.Value;

    public Task<Latent> EncodeAsync(Image image, CancellationToken cancellationToken) => Task.Run(() =>
    {
        if (image.Width % 8 != 0 || image.Height % 8 != 0)
            throw new ArgumentException($"the image is {image.Width}×{image.Height}; the VAE needs width and height that are multiples of 8");
        // [0, 1] → [-1, 1] in a pooled buffer: a fresh image-size array costs more in first-touch page faults than the map.
        var pixels = image.Pixels.Length;
        var input = ArrayPool<float>.Shared.Rent(pixels);
        Diffusion.Onnx.FloatTensor latent;
        try
        {
            TensorPrimitives.Multiply(image.Pixels, 2f, input.AsSpan(0, pixels));
            TensorPrimitives.Subtract(input.AsSpan(0, pixels), 1f, input.AsSpan(0, pixels));
            lock (_lock)
            {
                latent = _encoder.Value.Encode(input.AsSpan(0, pixels), [image.Batch, 3, image.Height, image.Width], null, cancellationToken);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(input);
        }
        var values = latent.Values;
        for (var i = 0; i < values.Length; i++) values[i] *= ScalingFactor;
        return new Latent(latent.Shape[0], latent.Shape[1], latent.Shape[2], latent.Shape[3], values);
    }, cancellationToken);

    public Task<Image> DecodeAsync(Latent latent, CancellationToken cancellationToken) => Task.Run(() =>
    {
        var length = latent.Values.Length;
        var input = ArrayPool<float>.Shared.Rent(length);
        TensorPrimitives.Multiply(latent.Values, 1f / ScalingFactor, input.AsSpan(0, length));
        lock (_lock)
        {
            try
            {
                // ONNX Runtime writes the decoded images straight into the image's own buffer, mapped to [0, 1] in place.
                var pixels = GC.AllocateUninitializedArray<float>(latent.Batch * 3 * latent.Height * VaeDecoder.ScaleFactor * latent.Width * VaeDecoder.ScaleFactor);
                _decoder.Value.DecodeInto(input.AsSpan(0, length), [latent.Batch, latent.Channels, latent.Height, latent.Width], pixels, cancellationToken);
                ToUnitRange(pixels);
                return new Image(latent.Batch, latent.Height * VaeDecoder.ScaleFactor, latent.Width * VaeDecoder.ScaleFactor, pixels);
            }
            finally
            {
                ArrayPool<float>.Shared.Return(input);
            }
        }
    }, cancellationToken);

    /// <summary>
    /// Decodes one batch-of-one latent tile into <paramref name="pixels"/> ([3, 8h, 8w], [0, 1]) without allocating,
    /// for tiled decoding: the same arithmetic as <see cref="DecodeAsync"/>.
    /// </summary>
    public void DecodeInto(ReadOnlySpan<float> latents, int channels, int height, int width, float[] scratch, float[] pixels, CancellationToken cancellationToken)
    {
        TensorPrimitives.Multiply(latents, 1f / ScalingFactor, scratch.AsSpan(0, latents.Length));
        lock (_lock)
        {
            _decoder.Value.DecodeInto(scratch.AsSpan(0, latents.Length), [1, channels, height, width], pixels, cancellationToken);
        }
        ToUnitRange(pixels);
    }

    public void Dispose()
    {
        if (_decoder.IsValueCreated) _decoder.Value.Dispose();
        if (_encoder.IsValueCreated) _encoder.Value.Dispose();
    }

    // x * 0.5 + 0.5 clamped to [0, 1] in place, in bands on all cores (the machine is otherwise idle between ONNX
    // Runtime calls), a vector at a time with the scalar Math.Clamp's exact results (the multiply and the add round
    // separately; NaN stays NaN).
    private static void ToUnitRange(float[] values) =>
        ParallelBands.Run(values.Length, 1 << 18, (start, end) => ToUnitRange(values.AsSpan(start, end - start)));

    private static void ToUnitRange(Span<float> values)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var half = new Vector<float>(0.5f);
            for (; i + Vector<float>.Count <= values.Length; i += Vector<float>.Count)
            {
                var v = new Vector<float>(values[i..]) * half + half;
                v = Vector.ConditionalSelect(Vector.LessThan(v, Vector<float>.Zero), Vector<float>.Zero, v);
                v = Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.One), Vector<float>.One, v);
                v.CopyTo(values[i..]);
            }
        }
        for (; i < values.Length; i++) values[i] = Math.Clamp(values[i] * 0.5f + 0.5f, 0f, 1f);
    }
}
