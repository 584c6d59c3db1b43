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
        var input = latent.ToArray();
        var inverse = 1f / ScalingFactor;
        for (var i = 0; i < input.Length; i++) input[i] *= inverse;
        Diffusion.Onnx.FloatTensor decoded;
        lock (_lock)
        {
            var before = _decoder.Value.RunTime;
            decoded = _decoder.Value.Decode(input, [latent.Batch, latent.Channels, latent.Height, latent.Width], cancellationToken);
            OnnxClock.Add(_decoder.Value.RunTime - before);
        }
        var pixels = decoded.Values;
        for (var i = 0; i < pixels.Length; i++) pixels[i] = Math.Clamp(pixels[i] * 0.5f + 0.5f, 0f, 1f);
        return new Image(decoded.Shape[0], decoded.Shape[2], decoded.Shape[3], pixels);
    }, cancellationToken);
}
