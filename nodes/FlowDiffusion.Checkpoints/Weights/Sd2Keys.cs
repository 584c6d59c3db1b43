using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Weights;

/// <summary>
/// SD 2.x single files (Stability AI's LDM layout, as <c>v2-1_768-ema-pruned.safetensors</c>): the UNet and VAE under SD
/// 1.x's prefixes and OpenCLIP ViT-H's text tower under <c>cond_stage_model.model.</c>. SD 2.x conditions on that tower's
/// penultimate layer through <c>ln_final</c>, so the tower is read without its last layer and its last output is the
/// context, as diffusers converts it (23 of 24 layers). The variants whose UNet takes more than latents are refused by name.
/// </summary>
public static class Sd2Keys
{
    /// <summary>The OpenCLIP text tower's key prefix in an SD 2.x single file.</summary>
    public const string TextEncoderPrefix = "cond_stage_model.model.";

    /// <summary>
    /// The tower's prefix in SD 2.x saved in SGM's layout, which ComfyUI also reads: the SDXL refiner's prefix, told apart
    /// by the refiner UNet's class embedding (<c>label_emb</c>) and by the absence of a second embedder.
    /// </summary>
    public const string SgmTextEncoderPrefix = OpenClipKeyMap.RefinerPrefix;

    private const string InputConvolution = LdmKeyMap.UNetPrefix + "input_blocks.0.0.weight";

    /// <summary>Whether single-file tensor names <paramref name="keys"/> hold SD 2.x's text tower (in LDM's or SGM's layout).</summary>
    public static bool IsSd2(IEnumerable<string> keys)
    {
        var names = keys as IReadOnlyCollection<string> ?? [.. keys];
        bool Any(string prefix) => names.Any(k => k.StartsWith(prefix, StringComparison.Ordinal));
        return Any(TextEncoderPrefix)
            || (Any(SgmTextEncoderPrefix) && !Any(OpenClipKeyMap.Prefix) && !Any(LdmKeyMap.UNetPrefix + "label_emb."));
    }

    /// <summary>The text tower in canonical names without its last layer (see the class summary); empty when the file has none.</summary>
    public static Dictionary<string, StoredTensor> TextEncoder(SafetensorsFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var map = OpenClipKeyMap.Map(file, file.Tensors.Keys.Any(k => k.StartsWith(TextEncoderPrefix, StringComparison.Ordinal)) ? TextEncoderPrefix : SgmTextEncoderPrefix);
        var layers = Shapes.CountIndices(map.Keys, "text_model.encoder.layers.");
        if (layers >= 2)
        {
            DropLayersFrom(map, layers - 1);
        }

        return map;
    }

    /// <summary>
    /// A standalone OpenCLIP ViT-H text tower (ComfyUI's CLIPLoader, stable_diffusion, with a CLIP_H file) in canonical
    /// names, read as ComfyUI's SD 2.x CLIP runs it: a 24-layer model conditioning on its penultimate layer, so layers 0–22
    /// whatever the file holds (24 in OpenCLIP's and transformers' ViT-H files, 23 in diffusers' SD 2.x text encoders).
    /// </summary>
    public static Dictionary<string, StoredTensor> StandaloneTextEncoder(Dictionary<string, StoredTensor> tower)
    {
        ArgumentNullException.ThrowIfNull(tower);
        DropLayersFrom(tower, ViTHLayers - 1);
        return tower;
    }

    /// <summary>The depth of OpenCLIP ViT-H's text tower, ComfyUI's SD 2.x CLIP configuration.</summary>
    public const int ViTHLayers = 24;

    private static void DropLayersFrom(Dictionary<string, StoredTensor> map, int first)
    {
        foreach (var key in map.Keys.Where(k => Shapes.IndexAfter(k, "text_model.encoder.layers.") >= first).ToArray())
        {
            map.Remove(key);
        }
    }

    /// <summary>
    /// Throws naming the SD 2.x variant when <paramref name="file"/> is one this version does not run: unCLIP (an image
    /// embedder, a noise augmentor and a UNet class embedding), the x4 upscaler (a low-resolution image concatenated to
    /// the latents, 7 input channels), depth-to-image (MiDaS depth concatenated, 5 channels). Inpainting (9 channels) runs.
    /// </summary>
    /// <exception cref="CheckpointException">The file is one of those variants.</exception>
    public static void RefuseUnsupported(SafetensorsFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var keys = file.Tensors.Keys;
        bool Any(string prefix) => keys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal));
        var channels = file.Tensors.TryGetValue(InputConvolution, out var conv) && conv.Shape.Length == 4 ? conv.Shape[1] : 4;
        Refuse(file.Path, channels, Any);
    }

    /// <summary>
    /// As <see cref="RefuseUnsupported(SafetensorsFile)"/> for an SD 2.x UNet saved alone (ComfyUI's UNETLoader input), told
    /// by its input channels (<paramref name="convIn"/>, the canonical <c>conv_in.weight</c> shape).
    /// </summary>
    /// <exception cref="CheckpointException">The UNet is the x4 upscaler's or depth-to-image's.</exception>
    public static void RefuseUnsupportedUNet(string path, long[] convIn)
    {
        ArgumentNullException.ThrowIfNull(convIn);
        Refuse(path, convIn.Length == 4 ? convIn[1] : 4, _ => false);
    }

    private static void Refuse(string path, long channels, Func<string, bool> any)
    {
        var variant =
            any("low_scale_model.") || channels == 7 ? "the SD 2.x x4 upscaler (a low-resolution image concatenated to the latents, 7 input channels); upscale with an ESRGAN model (upscale.load) instead"
            : any("depth_model.") || channels == 5 ? "SD 2.0 depth-to-image (MiDaS depth concatenated to the latents, 5 input channels); use a depth ControlNet with an SD 1.x model instead"
            : any("noise_augmentor.") || any("embedder.") || any(LdmKeyMap.UNetPrefix + "label_emb.") ? "SD 2.1 unCLIP (image variations: a CLIP image embedder, a noise augmentor and a UNet class embedding)"
            : null;
        if (variant is not null)
        {
            throw new CheckpointException($"{path}: this is {variant}, which FlowDiffusion does not run; SD 2.x text-to-image (512-base, 768-v and their fine-tunes) and inpainting checkpoints load.");
        }
    }
}
