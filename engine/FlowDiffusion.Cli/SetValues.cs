using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Cli;

/// <summary>Repeated <c>--set name=value</c> options as workflow input values (read by <see cref="InputValues"/>, typed by the validator).</summary>
internal static class SetValues
{
    public static Dictionary<string, object?> Parse(IEnumerable<string> sets)
    {
        try
        {
            return InputValues.FromAssignments(sets);
        }
        catch (FormatException e)
        {
            throw new UsageException(e.Message);
        }
    }
}
