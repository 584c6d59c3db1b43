namespace FlowDiffusion.Sdk;

/// <summary>
/// Supplies the allowed values of a string parameter from code, so that a list a library owns (a scheduler catalog,
/// say) is written once: <c>[Parameter(ChoicesFrom = typeof(SchedulerNames))]</c>. The host creates the type with its
/// parameterless constructor when it reads the node's declaration; workflows can reuse the list as an input's
/// <c>choices: node.parameter</c>.
/// </summary>
public interface IParameterChoices
{
    /// <summary>The allowed values, in display order.</summary>
    IReadOnlyList<string> Choices { get; }
}
