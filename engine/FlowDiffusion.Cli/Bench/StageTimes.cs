using System.Text.Json.Nodes;

namespace FlowDiffusion.Cli.Bench;

/// <summary>
/// One run's times in seconds: loading sessions, encoding the prompts, each denoising step, the VAE decode, (engine only)
/// saving the PNG, and (img2img) the VAE encode of the input image.
/// </summary>
internal sealed record StageTimes(double Total, double Load, double Encode, IReadOnlyList<double> StepTimes, double Decode, double Save, double VaeEncode = 0)
{
    /// <summary>The whole denoising loop.</summary>
    public double Sample => StepTimes.Sum();

    /// <summary>The mean step.</summary>
    public double Step => StepTimes.Count == 0 ? 0 : StepTimes.Average();

    public JsonObject ToJson() => new()
    {
        ["total_s"] = Total,
        ["load_s"] = Load,
        ["encode_s"] = Encode,
        ["sample_s"] = Sample,
        ["step_s"] = new JsonArray(StepTimes.Select(s => (JsonNode)s).ToArray()),
        ["unet_step_s"] = Step,
        ["vae_decode_s"] = Decode,
        ["save_s"] = Save,
        ["vae_encode_s"] = VaeEncode,
    };

    public static StageTimes FromJson(JsonNode node) => new(
        (double)node["total_s"]!,
        (double)node["load_s"]!,
        (double)node["encode_s"]!,
        node["step_s"]!.AsArray().Select(s => (double)s!).ToArray(),
        (double)node["vae_decode_s"]!,
        (double)node["save_s"]!,
        (double?)node["vae_encode_s"] ?? 0);
}
