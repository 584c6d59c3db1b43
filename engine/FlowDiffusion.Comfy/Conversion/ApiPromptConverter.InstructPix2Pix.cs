using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's InstructPixToPixConditioning (comfy_extras/nodes_ip2p.py) → conditioning.instruct_pix2pix: the pixels, cut to
/// multiples of 8 around the centre, encoded and attached to both conditionings as the image latents an instruct-pix2pix
/// UNet reads (ComfyUI's concat_latent_image); its LATENT is zeros of their size.
/// </summary>
public sealed partial class ApiPromptConverter
{
    private ComfyValue[]? InstructPixToPixConditioning(string id, JsonObject inputs)
    {
        var positive = Link<ConditioningValue>(id, inputs, "positive");
        var negative = Link<ConditioningValue>(id, inputs, "negative");
        var vae = Link<VaeValue>(id, inputs, "vae");
        var pixels = Link<ImageValue>(id, inputs, "pixels");
        if (positive is null || negative is null || vae is null || pixels is null) return null;
        var node = Add(id, null, "conditioning.instruct_pix2pix",
            [("positive", positive.Conditioning), ("negative", negative.Conditioning), ("vae", vae.Vae), ("image", pixels.Image)], []);
        return
        [
            positive with { Conditioning = $"{node}.positive_out" }, negative with { Conditioning = $"{node}.negative_out" },
            new LatentValue($"{node}.latent", null),
        ];
    }
}
