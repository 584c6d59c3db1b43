namespace FlowDiffusion.Cli.Commands;

/// <summary>Reads <c>--config KEY=VALUE</c> pairs.</summary>
internal static class ConfigPairs
{
    public static IEnumerable<KeyValuePair<string, string?>> Parse(IEnumerable<string> pairs)
    {
        foreach (var pair in pairs)
        {
            var split = pair.IndexOf('=');
            if (split <= 0) throw new UsageException($"--config {pair}: expected KEY=VALUE");
            yield return new(pair[..split], pair[(split + 1)..]);
        }
    }
}
