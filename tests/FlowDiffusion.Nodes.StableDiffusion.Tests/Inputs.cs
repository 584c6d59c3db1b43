namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>Workflow inputs as CLI <c>--set</c> text, small and fast by default (64×64, few steps).</summary>
internal static class Inputs
{
    public static Dictionary<string, object?> Of(string model, string prompt, string negative = "", int seed = 1, int steps = 10,
        double cfg = 1, string scheduler = "euler", bool karras = false, int size = 64, int batch = 1) => new()
    {
        ["model"] = "models/" + model,
        ["prompt"] = prompt,
        ["negative"] = negative,
        ["seed"] = seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["steps"] = steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["cfg"] = cfg.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["scheduler"] = scheduler,
        ["karras"] = karras ? "true" : "false",
        ["width"] = size.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["height"] = size.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["batch"] = batch.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public static Dictionary<string, object?> With(this Dictionary<string, object?> inputs, string name, object? value)
    {
        inputs[name] = value;
        return inputs;
    }
}
