using FlowDiffusion.Engine.Validation;

namespace FlowDiffusion.Cli;

/// <summary>Prints diagnostics to stderr, errors first.</summary>
internal static class DiagnosticsPrinter
{
    public static void Print(IEnumerable<Diagnostic> diagnostics, TextWriter writer)
    {
        foreach (var diagnostic in diagnostics.OrderBy(d => d.IsError ? 0 : 1).ThenBy(d => d.Location?.Line ?? 0).ThenBy(d => d.Location?.Column ?? 0))
            writer.WriteLine(diagnostic.ToString());
    }
}
