using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using FlowDiffusion.Engine.Hosting;

namespace FlowDiffusion.Cli.Commands;

/// <summary>
/// <c>flowdiffusion editor</c>: starts the browser editor (with the HTTP API in-process, or over the server <c>--server</c>
/// names) on the installation's home. The
/// editor is its own web application: the .NET tool carries it published under <c>editor/</c>, a repository build has it
/// under <c>ui/FlowDiffusion.Editor/bin</c>; it runs as a child process and its exit code is the command's.
/// </summary>
internal static class EditorCommand
{
    private const string Assembly = "FlowDiffusion.Editor.dll";

    public static Command Create()
    {
        var urls = new Option<string?>("--urls")
        {
            Description = "Addresses to listen on, ';'-separated (default http://127.0.0.1:5180). Anything beyond loopback needs an API key.",
            HelpName = "URL",
        };
        var server = new Option<string?>("--server")
        {
            Description = "Queue runs on this FlowDiffusion server (flowdiffusion serve, a cluster's coordinator) instead of in the editor; history and outputs come from it.",
            HelpName = "URL",
        };
        var apiKey = new Option<string?>("--api-key") { Description = "The API key of the server named by --server.", HelpName = "KEY" };
        var command = new Command("editor", "Start the graph editor in the browser (and the HTTP API) until Ctrl+C.") { urls, server, apiKey };
        command.TreatUnmatchedTokensAsErrors = false;
        CommandAction.Set(command, async (parse, cancellationToken) =>
        {
            InstallationHome? home;
            try
            {
                home = InstallationHome.Find(ConfiguredHome(parse.GetValue(GlobalOptions.Config) ?? []));
            }
            catch (DirectoryNotFoundException e)
            {
                throw new UsageException(e.Message);
            }
            var editor = Find(home) ?? throw new UsageException(
                $"the editor is not built here: run 'dotnet build ui/FlowDiffusion.Editor' in the repository, or install the flowdiffusion tool (see README).");
            var start = new ProcessStartInfo(DotnetHost()) { UseShellExecute = false };
            start.ArgumentList.Add(editor);
            if (parse.GetValue(urls) is { Length: > 0 } addresses)
            {
                start.ArgumentList.Add("--urls");
                start.ArgumentList.Add(addresses);
            }
            // The editor maps these switches onto FlowDiffusion:Editor:Server and :ApiKey (its own configuration).
            foreach (var (option, value) in new[] { ("--server", parse.GetValue(server)), ("--api-key", parse.GetValue(apiKey)) })
            {
                if (string.IsNullOrEmpty(value)) continue;
                start.ArgumentList.Add(option);
                start.ArgumentList.Add(value);
            }
            foreach (var pair in parse.GetValue(GlobalOptions.Config) ?? []) start.ArgumentList.Add("--" + pair);
            foreach (var token in parse.UnmatchedTokens) start.ArgumentList.Add(token);
            if (home is not null) start.Environment[InstallationHome.Variable] = home.Folder;
            using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {editor}");
            try
            {
                await process.WaitForExitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C reaches the editor too (same process group); give it time to stop cleanly.
                if (!process.WaitForExit(TimeSpan.FromSeconds(10))) process.Kill(entireProcessTree: true);
                return ExitCodes.Ok;
            }
            return process.ExitCode;
        });
        return command;
    }

    // The editor a tool package carries beside the CLI, else the one built in the repository the home is.
    private static string? Find(InstallationHome? home)
    {
        var bundled = Path.Combine(AppContext.BaseDirectory, "editor", Assembly);
        if (File.Exists(bundled)) return bundled;
        if (home is null) return null;
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent?.Parent?.Name is "Release" ? "Release" : "Debug";
        return new[] { configuration, configuration == "Debug" ? "Release" : "Debug" }
            .Select(c => Path.Combine(home.Folder, "ui", "FlowDiffusion.Editor", "bin", c, "net10.0", Assembly))
            .FirstOrDefault(File.Exists);
    }

    // The muxer that runs framework-dependent apps: this process when it is one, else the one owning this runtime.
    private static string DotnetHost()
    {
        var name = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (Environment.ProcessPath is { } self && Path.GetFileName(self) == name) return self;
        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        return File.Exists(Path.Combine(root, name)) ? Path.Combine(root, name) : name;
    }

    private static string? ConfiguredHome(IEnumerable<string> pairs) =>
        pairs.Select(p => p.Split('=', 2)).Where(p => p.Length == 2 && p[0] == InstallationHome.ConfigurationKey).Select(p => p[1]).LastOrDefault();
}
