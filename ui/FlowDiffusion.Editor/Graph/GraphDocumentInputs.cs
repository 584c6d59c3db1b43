using System.Globalization;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Graph;

// Editing a workflow input's declaration from the editor: its description and range, and removing it (its parameters
// keep its default). Defaults are set by SetInputDefault; inputs are added by ExposeParameter.
public sealed partial class GraphDocument
{
    /// <summary>
    /// Sets the description of workflow input <paramref name="name"/> and, for a number input, its range (null: no bound),
    /// as one edit. Returns why nothing changed (a minimum above the maximum, a range on an input that is no number), or
    /// null when the edit was made or there was nothing to change. A default outside the new range stays and is reported
    /// by validation, as a hand-written file's would be.
    /// </summary>
    public string? SetInputSpec(string name, string description, double? min, double? max)
    {
        var input = Workflow.Input(name) ?? throw new ArgumentException($"No workflow input '{name}'.", nameof(name));
        var numeric = input.Type is ParameterValueType.Integer or ParameterValueType.Number;
        if (!numeric && (min is not null || max is not null)) return $"Input '{name}' is a {input.Type.ToString().ToLowerInvariant()}: only numbers take a range.";
        if (min is { } lo && max is { } hi && lo > hi)
            return $"Input '{name}': the minimum {lo.ToString(CultureInfo.InvariantCulture)} is above the maximum {hi.ToString(CultureInfo.InvariantCulture)}; the range is unchanged.";
        if (min is { } a && !double.IsFinite(a) || max is { } b && !double.IsFinite(b)) return $"Input '{name}': a bound must be a finite number.";
        var next = input with { Description = description.Trim(), Min = numeric ? min : input.Min, Max = numeric ? max : input.Max };
        if (next == input) return null;
        Commit(Workflow with { Inputs = Workflow.Inputs.Select(i => i.Name == name ? next : i).ToList() });
        return null;
    }

    /// <summary>
    /// Removes workflow input <paramref name="name"/>: every parameter bound to it gets the input's default as its own
    /// value (no value when it has none), and the input goes, as one edit.
    /// </summary>
    public void RemoveInput(string name)
    {
        var input = Workflow.Input(name) ?? throw new ArgumentException($"No workflow input '{name}'.", nameof(name));
        var literal = input.Default is null ? null : new LiteralValue(input.Default);
        var next = Workflow;
        foreach (var node in Workflow.Nodes)
            foreach (var parameter in node.Parameters.Where(p => p.Value is InputReference r && r.InputName == name))
                next = WithParameter(next, node.Id, parameter.Name, literal);
        Commit(next with { Inputs = next.Inputs.Where(i => i.Name != name).ToList() });
    }
}
