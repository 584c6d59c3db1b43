using System.Globalization;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Graph;

/// <summary>What a value widget edits: a node parameter or a workflow input, reduced to type, bounds, choices and kind.</summary>
public sealed record ValueSpec(
    string Name,
    ParameterValueType Type,
    object? Default,
    double? Min,
    double? Max,
    double? Step,
    IReadOnlyList<string> Choices,
    bool Multiline,
    string Kind,
    string Description)
{
    /// <summary>The widget for a node parameter.</summary>
    public static ValueSpec Of(ParameterDescriptor p) => new(p.Name, p.ValueType, p.Default, p.HasMin ? p.Min : null, p.HasMax ? p.Max : null,
        double.IsNaN(p.Step) ? null : p.Step, p.Choices, p.Multiline, KindName(p.Kind.ToString()), p.Description);

    /// <summary>The widget for a workflow input.</summary>
    public static ValueSpec Of(WorkflowInput i) => new(i.Name, i.Type, i.Default, i.Min, i.Max, null, i.Choices ?? [],
        i.Type == ParameterValueType.String && i.Name is "prompt" or "negative", KindName(i.Kind ?? (i.Name == "seed" ? "seed" : "")), i.Description);

    /// <summary>The value typed into a widget, converted to this spec's type; null when it does not parse.</summary>
    public object? Parse(string? text)
    {
        text ??= "";
        return Type switch
        {
            ParameterValueType.Integer => long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? l
                : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d == Math.Floor(d) ? (long)d : null,
            ParameterValueType.Number => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null,
            ParameterValueType.Boolean => bool.TryParse(text, out var b) ? b : null,
            ParameterValueType.NumberList => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? (object?)v : null).ToList() is var list && list.All(v => v is not null) ? list : null,
            ParameterValueType.StringList => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Cast<object?>().ToList(),
            _ => text,
        };
    }

    /// <summary>A value as widget text.</summary>
    public static string Format(object? value) => value switch
    {
        null => "",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        System.Collections.IEnumerable list and not string => string.Join(", ", list.Cast<object?>().Select(Format)),
        _ => value.ToString() ?? "",
    };

    // Node parameters say ModelFolder / ImageFile; workflow inputs say model / image (and lora, vae): both pick the same widget.
    private static string KindName(string kind) => kind.ToLowerInvariant() switch
    {
        "seed" => "seed",
        "modelfolder" or "model" or "model_folder" => "model",
        "imagefile" or "image" or "image_file" => "image",
        "maskfile" or "mask" or "mask_file" => "mask",
        "lora" => "lora",
        "vae" => "vae",
        _ => "",
    };
}
