using FlowDiffusion.Checkpoints.Taesd;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// TAESD, the tiny autoencoder, as ComfyUI uses it: VAELoader's <c>taesd</c> and <c>taesdxl</c> load the halves in
/// <c>models/vae_approx</c> (nodes.py's <c>load_taesd</c>), and <c>--preview-method taesd</c> (or <c>auto</c> with the
/// decoder present) decodes the samplers' live previews with the model family's TAESD.
/// </summary>
public sealed partial class ApiPromptConverter
{
    private const string VaeApprox = "vae_approx";

    // The preview VAEs of this prompt by decoder file: one vae.load serves every sampler of a family.
    private readonly Dictionary<string, string> previewVaes = new(StringComparer.Ordinal);

    private static bool TaesdName(string name) =>
        TaesdFiles.Supported.Any(s => s.Name == name) || TaesdFiles.Refused.Contains(name, StringComparer.Ordinal);

    // VAELoader's taesd / taesdxl → vae.load of the decoder (the encoder beside it); taesd3 and taef1 refused.
    private ComfyValue[]? TaesdLoader(string id, string name)
    {
        if (TaesdFiles.Refused.Contains(name, StringComparer.Ordinal))
        {
            Error(id, "value_not_supported", "Value not supported",
                $"vae_name: '{name}' is the TAESD of a 16-channel latent model (SD3, FLUX); FlowDiffusion loads taesd (SD 1.x) and taesdxl (SDXL)", "vae_name");
            return null;
        }

        var decoder = TaesdHalf(name, TaesdPart.Decoder);
        var encoder = TaesdHalf(name, TaesdPart.Encoder);
        if (decoder is null || encoder is null)
        {
            decoder ??= NotHereYet(id, "VAELoader", $"{name}_decoder.pth", VaeApprox, "in models/vae_approx");
            if (decoder is null || (encoder is null && requireFiles))
            {
                var missing = string.Join(" and ", new[] { (TaesdPart.Encoder, encoder), (TaesdPart.Decoder, TaesdHalf(name, TaesdPart.Decoder)) }
                    .Where(h => h.Item2 is null).Select(h => $"{name}_{h.Item1.ToString().ToLowerInvariant()}"));
                Error(id, "value_not_in_list", "Value not in list",
                    $"vae_name: '{name}' needs {name}_encoder and {name}_decoder (.pth or .safetensors) in models/vae_approx; {missing} is missing", "vae_name");
                return null;
            }
        }

        var node = Add(id, null, "vae.load", [], [("path", decoder)]);
        return [new VaeValue($"{node}.vae")];
    }

    // The preview VAE of a sampler whose model came from checkpoint (null: unknown, taken for SD 1.x): the family's TAESD
    // decoder when the preview method asks for it and models/vae_approx holds it; else null, the linear approximation
    // (ComfyUI falls back to it too when the decoder is missing).
    private string? PreviewVae(string id, string? checkpoint)
    {
        if (folders.PreviewMethod is not (ComfyFolders.TaesdPreviews or ComfyFolders.AutoPreviews)) return null;
        var name = checkpoint is not null && LooksSdxl(checkpoint) ? "taesdxl" : "taesd";
        if (TaesdHalf(name, TaesdPart.Decoder) is not { } decoder) return null;
        if (!previewVaes.TryGetValue(decoder, out var node))
            previewVaes[decoder] = node = Add(id, "preview_vae", "vae.load", [], [("path", decoder)]);
        return $"{node}.vae";
    }

    // A TAESD half in models/vae_approx, as a path for vae.load, or null when absent.
    private string? TaesdHalf(string name, TaesdPart part) =>
        ComfyFolders.Inside(folders.ModelsFolder, VaeApprox) is { } folder && TaesdFiles.Find(folder, name, part) is { } file
            ? folders.ResolveModelFile(VaeApprox, Path.GetFileName(file))
            : null;
}
