namespace FlowDiffusion.Cli;

/// <summary>Parses repeated <c>--set name=value</c> options into workflow input values (text; typed by the validator).</summary>
internal static class SetValues
{
    public static Dictionary<string, object?> Parse(IEnumerable<string> sets)
    {
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var set in sets)
        {
            var split = set.IndexOf('=');
            if (split <= 0) throw new UsageException($"--set {set}: expected NAME=VALUE, e.g. --set seed=42");
            values[set[..split]] = set[(split + 1)..];
        }
        return values;
    }
}
