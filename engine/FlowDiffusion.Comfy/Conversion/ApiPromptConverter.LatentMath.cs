using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's latent arithmetic: LatentAdd, LatentSubtract, LatentMultiply, LatentInterpolate, LatentBlend and LatentBatchSeedBehavior.
/// Each result keeps samples1's (or samples') noise mask, as ComfyUI copies that latent's dictionary.
/// </summary>
public sealed partial class ApiPromptConverter
{
    private static readonly string[] SeedBehaviors = ["random", "fixed"];

    // LatentAdd → latent.add, LatentSubtract → latent.subtract; LatentInterpolate → latent.interpolate with ratio.
    private ComfyValue[]? LatentPair(string id, JsonObject inputs, string type)
    {
        var first = Link<LatentValue>(id, inputs, "samples1");
        var second = Link<LatentValue>(id, inputs, "samples2");
        var weightName = type == "latent.blend" ? "blend_factor" : "ratio";
        var weight = type switch { "latent.interpolate" => Number(id, inputs, "ratio", 1), "latent.blend" => Number(id, inputs, "blend_factor", 0.5), _ => 0 };
        if (first is null || second is null || weight is null || !Within(id, weightName, weight.Value, 0, 1)) return null;
        var (parameters, output) = type switch
        {
            "latent.add" => ([], "sum"),
            "latent.subtract" => ([], "difference"),
            "latent.blend" => (new (string, object)[] { ("blend_factor", weight.Value) }, "blended"),
            _ => (new (string, object)[] { ("ratio", weight.Value) }, "interpolated"),
        };
        var node = Add(id, null, type, [("samples1", first.Latent), ("samples2", second.Latent)], parameters);
        return [first with { Latent = $"{node}.{output}" }];
    }

    // LatentMultiply → latent.multiply.
    private ComfyValue[]? LatentMultiply(string id, JsonObject inputs)
    {
        var samples = Link<LatentValue>(id, inputs, "samples");
        var multiplier = Number(id, inputs, "multiplier", 1);
        if (samples is null || multiplier is null || !Within(id, "multiplier", multiplier.Value, -10, 10)) return null;
        var node = Add(id, null, "latent.multiply", [("samples", samples.Latent)], [("multiplier", multiplier.Value)]);
        return [samples with { Latent = $"{node}.product" }];
    }

    // LatentBatchSeedBehavior → latent.seed_behavior: batch_index travels as the latent's noise indices.
    private ComfyValue[]? LatentSeedBehavior(string id, JsonObject inputs)
    {
        var samples = Link<LatentValue>(id, inputs, "samples");
        var behavior = Choice(id, inputs, "seed_behavior", "fixed", SeedBehaviors);
        if (samples is null || behavior is null) return null;
        var node = Add(id, null, "latent.seed_behavior", [("samples", samples.Latent)], [("seed_behavior", behavior)]);
        return [samples with { Latent = $"{node}.latent" }];
    }
}
