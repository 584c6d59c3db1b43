using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// A1111's settings (<c>/sdapi/v1/options</c>) that this process keeps: the checkpoint later requests use and the CLIP
/// skip. They last as long as the process, as A1111's do until it saves its config.
/// </summary>
public sealed class A1111Settings
{
    private readonly object gate = new();
    private string? checkpoint;
    private int clipSkip = 1;

    /// <summary>The checkpoint name set through the options, or null (then the first checkpoint).</summary>
    public string? Checkpoint
    {
        get { lock (gate) return checkpoint; }
        set { lock (gate) checkpoint = value; }
    }

    /// <summary>A1111's <c>CLIP_stop_at_last_layers</c> (1: the last layer, 2: the penultimate).</summary>
    public int ClipSkip
    {
        get { lock (gate) return clipSkip; }
        set { lock (gate) clipSkip = value; }
    }

    /// <summary>
    /// The settings whose values FlowDiffusion fixes (its VAE is the checkpoint's, images are PNG, noise is the CPU's):
    /// GET reports them, and a client that sends them back unchanged is answered as if it had not.
    /// </summary>
    public static IReadOnlyDictionary<string, JsonNode?> Fixed { get; } = new Dictionary<string, JsonNode?>(StringComparer.Ordinal)
    {
        ["sd_checkpoint_hash"] = null,
        ["sd_vae"] = "Automatic",
        ["samples_format"] = "png",
        ["img2img_fix_steps"] = false,
        ["enable_pnginfo"] = true,
        ["eta_ancestral"] = 1.0,
        ["eta_noise_seed_delta"] = 0,
        ["randn_source"] = "CPU",
    };

    /// <summary>The settings A1111 clients read, as <c>GET /sdapi/v1/options</c> gives them.</summary>
    public JsonObject ToJson(string? checkpointTitle)
    {
        var json = new JsonObject { ["sd_model_checkpoint"] = checkpointTitle, ["CLIP_stop_at_last_layers"] = ClipSkip };
        foreach (var (key, value) in Fixed) json[key] = value?.DeepClone();
        return json;
    }
}
