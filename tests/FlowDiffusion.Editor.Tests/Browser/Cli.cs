using System.Diagnostics;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>The <c>flowdiffusion</c> CLI from its build output (the test project builds it first without referencing it).</summary>
internal static class Cli
{
    public static string? Assembly
    {
        get
        {
            var parts = AppContext.BaseDirectory.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
            var bin = Array.LastIndexOf(parts, "bin");
            var configuration = bin >= 0 && bin + 1 < parts.Length ? parts[bin + 1] : "Debug";
            var path = Path.Combine(RepositoryRoot.Path, "engine", "FlowDiffusion.Cli", "bin", configuration, "net10.0", "flowdiffusion.dll");
            return File.Exists(path) ? path : null;
        }
    }

    /// <summary>Runs the CLI in the repository root; returns the exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = RepositoryRoot.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Assembly!);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}
