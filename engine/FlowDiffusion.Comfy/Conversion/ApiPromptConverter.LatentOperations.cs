using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's LATENT_OPERATION classes: LatentOperationTonemapReinhard and LatentOperationSharpen make the operation (its
/// settings, known at conversion), LatentApplyOperation runs it on a LATENT through latent.operation, and
/// LatentApplyOperationCFG (with the guidance patches) runs it in guidance.cfg.
/// </summary>
public sealed partial class ApiPromptConverter
{
    // LatentOperationTonemapReinhard → its multiplier.
    private ComfyValue[]? TonemapReinhard(string id, JsonObject inputs)
    {
        var multiplier = Number(id, inputs, "multiplier", 1);
        if (multiplier is null || !Within(id, "multiplier", multiplier.Value, 0, 100)) return null;
        return [new LatentOperationValue("tonemap_reinhard", Multiplier: multiplier.Value)];
    }

    // LatentOperationSharpen → its radius, sigma and alpha.
    private ComfyValue[]? LatentSharpen(string id, JsonObject inputs)
    {
        var radius = Integer(id, inputs, "sharpen_radius", 9);
        var sigma = Number(id, inputs, "sigma", 1);
        var alpha = Number(id, inputs, "alpha", 0.1);
        if (radius is null || sigma is null || alpha is null
            || !Within(id, "sharpen_radius", radius.Value, 1, 31) | !Within(id, "sigma", sigma.Value, 0.1, 10) | !Within(id, "alpha", alpha.Value, 0, 5))
            return null;
        return [new LatentOperationValue("sharpen", SharpenRadius: radius.Value, Sigma: sigma.Value, Alpha: alpha.Value)];
    }

    // LatentApplyOperation → latent.operation; the noise mask stays, as ComfyUI copies the latent's dictionary.
    private ComfyValue[]? LatentApplyOperation(string id, JsonObject inputs)
    {
        var samples = Link<LatentValue>(id, inputs, "samples");
        var operation = Link<LatentOperationValue>(id, inputs, "operation");
        if (samples is null || operation is null) return null;
        var node = Add(id, null, "latent.operation", [("samples", samples.Latent)], [.. LatentOperationParameters(operation)]);
        return [samples with { Latent = $"{node}.latent" }];
    }

    private static IEnumerable<(string, object)> LatentOperationParameters(LatentOperationValue operation) => operation.Operation == "tonemap_reinhard"
        ? [("operation", operation.Operation), ("multiplier", operation.Multiplier)]
        : [("operation", operation.Operation), ("sharpen_radius", operation.SharpenRadius), ("sigma", operation.Sigma), ("alpha", operation.Alpha)];
}
