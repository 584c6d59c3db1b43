using System.Diagnostics;
using System.Text;

namespace FlowDiffusion.Plugins.Tests;

/// <summary>Runs the dotnet CLI as a plugin author would, failing the test with its output when it fails.</summary>
internal static class DotnetCli
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(10);

    public static string Run(string workingDirectory, params string[] arguments) =>
        Execute("dotnet", workingDirectory, new Dictionary<string, string>(), arguments);

    /// <summary>
    /// Runs a bash script (with <c>set -e</c> semantics left to the script) with extra environment variables, returning its
    /// exit code and output; the caller judges them.
    /// </summary>
    public static (int ExitCode, string Output) TryBash(string workingDirectory, string script, IReadOnlyDictionary<string, string> environment) =>
        Start("bash", workingDirectory, environment, [script]);

    private static string Execute(string program, string workingDirectory, IReadOnlyDictionary<string, string> environment, string[] arguments)
    {
        var (exitCode, output) = Start(program, workingDirectory, environment, arguments);
        Assert.True(exitCode == 0, $"{program} {string.Join(' ', arguments)} (in {workingDirectory}) failed with exit code {exitCode}:\n{output}");
        return output;
    }

    private static (int ExitCode, string Output) Start(string program, string workingDirectory, IReadOnlyDictionary<string, string> environment, string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        // The test host runs under MSBuild and vstest; their variables would steer the child build.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(key);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // No lingering build servers: they would outlive the test and hold its output pipes open.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";
        foreach (var (key, value) in environment) start.Environment[key] = value;

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', arguments)} ran past {Limit}:\n{output}");
        }
        process.WaitForExit();
        lock (output)
        {
            return (process.ExitCode, output.ToString());
        }
    }
}
