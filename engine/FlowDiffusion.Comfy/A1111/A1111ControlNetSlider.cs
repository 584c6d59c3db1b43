using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// A slider of a ControlNet preprocessor, as the sd-webui-controlnet extension declares it: its range bounds the unit's
/// <c>processor_res</c>, <c>threshold_a</c> or <c>threshold_b</c> (a value outside it, −1 included, becomes the default, as
/// the extension resets it), and the visible ones are what <c>/controlnet/module_list</c> lists.
/// </summary>
/// <param name="Label">The slider's label.</param>
/// <param name="Min">The smallest value.</param>
/// <param name="Max">The largest value.</param>
/// <param name="Value">The default.</param>
/// <param name="Step">The step.</param>
/// <param name="Visible">Whether the preprocessor shows (and uses) it.</param>
public sealed record A1111ControlNetSlider(string Label, double Min, double Max, double Value, double Step, bool Visible = true)
{
    /// <summary>The extension's default resolution slider (64–2048, 512).</summary>
    public static A1111ControlNetSlider Resolution { get; } = new("Resolution", 64, 2048, 512, 8);

    /// <summary>The extension's hidden slider (0–1, 0.5), which a preprocessor without that parameter keeps.</summary>
    public static A1111ControlNetSlider Hidden { get; } = new("EMPTY_LABEL", 0, 1, 0.5, 0.01, Visible: false);

    /// <summary>Whether a unit's value is kept (else the default replaces it).</summary>
    public bool Within(double sent) => sent >= Min && sent <= Max;

    /// <summary>The slider as <c>module_detail</c> lists it.</summary>
    public JsonObject ToJson() => new() { ["name"] = Label, ["value"] = Value, ["min"] = Min, ["max"] = Max, ["step"] = Step };
}
