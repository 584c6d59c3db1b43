using FlowDiffusion.Diffusion.Onnx;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// Where a VAE's two ONNX halves are and its latent scaling factor: a model folder's, or a standalone VAE folder's
/// (<c>vae_decoder/model.onnx</c>, optional <c>vae_encoder/model.onnx</c>, <c>config.json</c> with <c>scaling_factor</c>).
/// </summary>
internal sealed record VaeFiles(string Source, string DecoderPath, string? EncoderPath, float ScalingFactor)
{
    private ModelFolder? _model;

    public static VaeFiles Of(ModelFolder folder) => new(folder.Path, folder.VaeDecoderPath, folder.VaeEncoderPath, folder.VaeScalingFactor) { _model = folder };

    /// <summary>Reads a folder holding <c>vae_decoder/</c> (and <c>vae_encoder/</c>) of a diffusers-ONNX export.</summary>
    /// <exception cref="FileNotFoundException">The folder has no <c>vae_decoder/model.onnx</c>.</exception>
    public static VaeFiles OfFolder(string folder)
    {
        var decoder = Path.Combine(folder, "vae_decoder", "model.onnx");
        if (!File.Exists(decoder))
        {
            throw new FileNotFoundException($"'{folder}' is not a VAE: it has no vae_decoder/model.onnx (a diffusers-ONNX VAE folder), and it is not a .safetensors VAE.", decoder);
        }

        var encoder = Path.Combine(folder, "vae_encoder", "model.onnx");
        return new(folder, decoder, File.Exists(encoder) ? encoder : null, ScalingFactorOf(folder));
    }

    /// <summary>What to tell a user who encodes with a VAE that has no encoder, when the folder's default does not fit.</summary>
    public string? MissingEncoder { get; init; }

    public string RequireEncoder() => _model?.RequireVaeEncoder() ?? EncoderPath ?? throw new FileNotFoundException(
        MissingEncoder ?? $"The VAE '{Source}' has no vae_encoder/model.onnx, which img2img and inpainting need.", Path.Combine(Source, "vae_encoder", "model.onnx"));

    private static float ScalingFactorOf(string folder)
    {
        foreach (var half in new[] { "vae_decoder", "vae_encoder" })
        {
            var config = Path.Combine(folder, half, "config.json");
            if (!File.Exists(config))
            {
                continue;
            }

            try
            {
                using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(config));
                if (json.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object && json.RootElement.TryGetProperty("scaling_factor", out var factor)
                    && factor.ValueKind == System.Text.Json.JsonValueKind.Number)
                {
                    return factor.GetSingle();
                }
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new InvalidDataException($"'{config}' is not valid JSON: {e.Message}", e);
            }
        }

        return ModelFolder.DefaultVaeScalingFactor;
    }
}
