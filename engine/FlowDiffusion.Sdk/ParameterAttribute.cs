namespace FlowDiffusion.Sdk;

/// <summary>
/// Marks a property as a named parameter: a literal value in the workflow's <c>with:</c> section, or a workflow
/// input bound by <c>$name</c>. Supported types: <see cref="string"/>, <see cref="bool"/>, <see cref="int"/>,
/// <see cref="long"/>, <see cref="float"/>, <see cref="double"/>, arrays of those, and enums.
/// The property's initial value is the default.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = true)]
public sealed class ParameterAttribute : Attribute
{
    /// <summary>What the parameter controls.</summary>
    public string Description { get; init; } = "";

    /// <summary>The smallest allowed value of a number; <see cref="double.NaN"/> for none.</summary>
    public double Min { get; init; } = double.NaN;

    /// <summary>The largest allowed value of a number; <see cref="double.NaN"/> for none.</summary>
    public double Max { get; init; } = double.NaN;

    /// <summary>The increment of the editor's drag-to-change; <see cref="double.NaN"/> for the type's natural one.</summary>
    public double Step { get; init; } = double.NaN;

    /// <summary>The allowed values of a string parameter; empty for free text. Enum parameters list their names.</summary>
    public string[] Choices { get; init; } = [];

    /// <summary>
    /// A type implementing <see cref="IParameterChoices"/> (with a parameterless constructor) that supplies the allowed
    /// values instead of <see cref="Choices"/>, for a list kept in code elsewhere. Came with SDK 0.3.0.
    /// </summary>
    public Type? ChoicesFrom { get; init; }

    /// <summary>Whether a string parameter is multi-line text (a prompt).</summary>
    public bool Multiline { get; init; }

    /// <summary>Whether the node needs a value; a required parameter has no useful default.</summary>
    public bool Required { get; init; }

    /// <summary>A widget hint beyond the type.</summary>
    public ParameterKind Kind { get; init; }

    /// <summary>
    /// Whether the parameter is a rarely changed one (a fine-tuning knob, a solver's tolerance) that the editor tucks
    /// behind the node's collapsed "Advanced" toggle, as ComfyUI's and InvokeAI's editors do; false (the default) shows
    /// it with the others. It changes only how the editor draws the node: the parameter is validated, bound, saved and
    /// run exactly as any other, and an advanced value that differs from its default is counted on the toggle. Came
    /// with SDK 0.7.0.
    /// </summary>
    public bool Advanced { get; init; }
}
