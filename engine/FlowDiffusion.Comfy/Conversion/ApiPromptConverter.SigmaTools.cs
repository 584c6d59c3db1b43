using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FlowDiffusion.Diffusion.KDiffusion;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's sigma tools of comfy_extras/nodes_custom_sampler.py: FlipSigmas (rising sigmas, for unsampling),
/// ManualSigmas, ExtendIntermediateSigmas and AddNoise. Explicit sigmas are edited here; a schedule by name carries the
/// edit (<see cref="SigmaEdits"/>) to the node that computes it from the model at run time.
/// </summary>
public sealed partial class ApiPromptConverter
{
    // ManualSigmas' numbers: Python's re.findall(r"[-+]?(?:\d*\.*\d+)") on the text, each then float().
    private static readonly Regex ManualNumber = new(@"[-+]?(?:\d*\.*\d+)", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    // FlipSigmas: reversed, a first 0 made 0.0001.
    private ComfyValue[]? FlipSigmas(string id, JsonObject inputs)
    {
        var sigmas = Link<SigmasValue>(id, inputs, "sigmas");
        if (sigmas is null) return null;
        return sigmas.Values is { } values ? [SigmasValue.Explicit(SigmaEdits.Flip(values))] : [sigmas.WithEdit("flip", keepsHigh: true)];
    }

    private ComfyValue[]? ManualSigmas(string id, JsonObject inputs)
    {
        var text = Text(id, inputs, "sigmas", "1, 0.5");
        if (text is null) return null;
        var values = new List<float>();
        foreach (Match match in ManualNumber.Matches(text))
        {
            // float() refuses what the pattern lets through with two dots ("1..5"); ComfyUI fails there too.
            if (!double.TryParse(match.Value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
                || match.Value.Count(c => c == '.') > 1)
            {
                Error(id, "value_not_supported", "Value not supported", $"sigmas: '{match.Value}' is not a number", "sigmas");
                return null;
            }

            values.Add((float)value);
            if (values.Count > SigmaEdits.MaxSigmas)
            {
                Error(id, "value_not_supported", "Value not supported", $"sigmas: more than {SigmaEdits.MaxSigmas} numbers (10,000 steps)", "sigmas");
                return null;
            }
        }

        return [SigmasValue.Explicit([.. values])];
    }

    private ComfyValue[]? ExtendIntermediateSigmas(string id, JsonObject inputs)
    {
        var sigmas = Link<SigmasValue>(id, inputs, "sigmas");
        var steps = Integer(id, inputs, "steps", 2);
        var start = Number(id, inputs, "start_at_sigma", -1);
        var end = Number(id, inputs, "end_at_sigma", 12);
        var spacing = Choice(id, inputs, "spacing", "linear", [.. SigmaEdits.Spacings]);
        if (sigmas is null || steps is null || start is null || end is null || spacing is null) return null;
        if (!Within(id, "steps", steps.Value, 1, SigmaEdits.MaxExtendSteps) | !Within(id, "start_at_sigma", start.Value, -1, SigmaEdits.MaxFirstSigma)
            | !Within(id, "end_at_sigma", end.Value, 0, SigmaEdits.MaxFirstSigma))
            return null;
        if (sigmas.Values is not { } values)
            return [sigmas.WithEdit($"extend {steps.Value} {start.Value.ToString("R", CultureInfo.InvariantCulture)} {end.Value.ToString("R", CultureInfo.InvariantCulture)} {spacing}", keepsHigh: false)];
        try
        {
            return [SigmasValue.Explicit(SigmaEdits.Extend(values, (int)steps.Value, start.Value, end.Value, spacing))];
        }
        catch (ArgumentException error)
        {
            Error(id, "value_not_supported", "Value not supported", error.Message, "steps");
            return null;
        }
    }

    // AddNoise → latent.add_noise with the noise's seed and the sigmas; DisableNoise and empty sigmas add nothing.
    private ComfyValue[]? AddNoise(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var noise = Link<NoiseValue>(id, inputs, "noise");
        var sigmas = Link<SigmasValue>(id, inputs, "sigmas");
        var latent = Link<LatentValue>(id, inputs, "latent_image");
        if (model is null || noise is null || sigmas is null || latent is null) return null;
        if (!noise.Add || sigmas.Values is { Length: 0 }) return [latent];
        var parameters = new List<(string, object)> { ("seed", SeedLiteral(noise.Seed)) };
        parameters.AddRange(ScheduleParameters(sigmas));
        var node = Add(id, null, "latent.add_noise", [("latent_image", latent.Latent), ("config", model.SchedulerConfig)], parameters);
        return [latent with { Latent = $"{node}.latent" }];
    }

    // Whether sigmas rise (FlipSigmas upstream): explicit ones by their values, a schedule by name by its flips.
    private static bool Rises(SigmasValue sigmas) =>
        sigmas.Values is { } values ? RisingSigmas.Are(values) : sigmas.Edits.Split(';').Count(e => e.Trim() == "flip") % 2 == 1;
}
