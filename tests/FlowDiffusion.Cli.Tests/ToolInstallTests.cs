using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace FlowDiffusion.Cli.Tests;

/// <summary>
/// The install story end to end: <c>dotnet pack</c> makes the tool package, <c>dotnet tool install</c> puts
/// <c>flowdiffusion</c> into a tool path, and the installed command, started from a folder that is no FlowDiffusion
/// home, finds its bundled plugins, workflows, models and editor.
/// </summary>
public sealed class ToolInstallTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fd-tool-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Packed_tool_installs_and_runs_nodes_a_workflow_the_editor_and_serve_from_an_unrelated_folder()
    {
        var packages = Path.Combine(_root, "packages");
        var tools = Path.Combine(_root, "tools");
        var elsewhere = Directory.CreateDirectory(Path.Combine(_root, "elsewhere")).FullName;
        // Release and a private node pack deployment: the checkout's Debug build and plugins/ stay as other tests use them.
        Dotnet(Cli.RepoRoot, "pack", "engine/FlowDiffusion.Cli/FlowDiffusion.Cli.csproj", "-c", "Release", "--no-restore", "-o", packages,
            $"-p:PluginDeployDir={Path.Combine(_root, "node-pack")}/", "-nologo");
        Dotnet(elsewhere, "tool", "install", "FlowDiffusion.Cli", "--tool-path", tools, "--add-source", packages, "--ignore-failed-sources");
        var flowdiffusion = Path.Combine(tools, OperatingSystem.IsWindows() ? "flowdiffusion.exe" : "flowdiffusion");

        var (exit, stdout, stderr) = Run(elsewhere, flowdiffusion, "nodes");
        Assert.True(exit == 0, stderr);
        Assert.DoesNotContain("No plugin loaded", stderr);
        Assert.Contains("clip.encode", stdout);
        Assert.Contains("diffusion.sample", stdout);

        // A saved workflow by name, its model path resolved in the installation, its output in the current folder.
        (exit, stdout, stderr) = Run(elsewhere, flowdiffusion, "run", "txt2img", "--set", "model=models/analytic-sd", "--set", "prompt=a blue ball",
            "--set", "steps=4", "--set", "width=64", "--set", "height=64", "--out", "out");
        Assert.True(exit == 0, stdout + stderr);
        Assert.Single(Directory.GetFiles(Path.Combine(elsewhere, "out"), "*.png"));

        var url = $"http://127.0.0.1:{FreePort()}";
        var editor = Start(elsewhere, flowdiffusion, "editor", "--urls", url);
        try
        {
            using var http = new HttpClient();
            var page = await WaitForAsync(http, url + "/", editor);
            Assert.Contains("FlowDiffusion", page);
            var script = await http.GetAsync(url + "/_framework/blazor.web.js");
            Assert.Equal(HttpStatusCode.OK, script.StatusCode);
            var nodes = await http.GetStringAsync(url + "/api/nodes");
            Assert.Contains("clip.encode", nodes);
            var workflows = await http.GetStringAsync(url + "/api/workflows");
            Assert.Contains("txt2img", workflows);
        }
        finally
        {
            editor.Kill(entireProcessTree: true);
            await editor.WaitForExitAsync();
        }

        // `serve`: the HTTP API alone, on the same installation's plugins and workflows, warmed up by a saved workflow.
        var api = $"http://127.0.0.1:{FreePort()}";
        var serve = Start(elsewhere, flowdiffusion, "serve", "--urls", api, "--warm-up", "txt2img", "--warm-up-set", "steps=2", "--warm-up-set", "prompt=a blue square");
        try
        {
            using var http = new HttpClient();
            Assert.Contains("\"ok\"", await WaitForAsync(http, api + "/api/health", serve), StringComparison.OrdinalIgnoreCase);
            Assert.Contains("clip.encode", await http.GetStringAsync(api + "/api/nodes"));
            Assert.Contains("txt2img", await http.GetStringAsync(api + "/api/workflows"));
            var warmUp = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync(api + "/api/health"))!["warm_up"]!;
            for (var deadline = DateTime.UtcNow.AddMinutes(2); warmUp["state"]!.GetValue<string>() is "waiting" or "running" && DateTime.UtcNow < deadline; await Task.Delay(200))
                warmUp = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync(api + "/api/health"))!["warm_up"]!;
            Assert.True(warmUp["state"]!.GetValue<string>() == "done", warmUp.ToJsonString());
            Assert.Equal("txt2img", warmUp["workflow"]!.GetValue<string>());
            Assert.Contains("\"runs\":[]", await http.GetStringAsync(api + "/api/runs"), StringComparison.Ordinal);
        }
        finally
        {
            serve.Kill(entireProcessTree: true);
            await serve.WaitForExitAsync();
        }
    }

    [Fact]
    public void Cli_from_a_folder_outside_the_checkout_finds_the_checkout_home_and_says_so_when_none_has_plugins()
    {
        var elsewhere = Directory.CreateDirectory(Path.Combine(_root, "elsewhere")).FullName;
        var (exit, stdout, stderr) = Run(elsewhere, "dotnet", Cli.Dll, "nodes");
        Assert.True(exit == 0, stderr);
        Assert.Contains("clip.encode", stdout);
        Assert.DoesNotContain("warning", stderr);

        // An explicit home without plugins: loud, with what was searched and what to do.
        (exit, stdout, stderr) = Run(elsewhere, "dotnet", [Cli.Dll, "nodes"], new() { ["FLOWDIFFUSION_HOME"] = elsewhere });
        Assert.Equal(0, exit);
        Assert.Contains("0 node types", stdout);
        Assert.Contains("warning: No plugin loaded", stderr);
        Assert.Contains(Path.Combine(elsewhere, "plugins"), stderr);
        Assert.Contains("FLOWDIFFUSION_HOME", stderr);
    }

    private static void Dotnet(string folder, params string[] args)
    {
        var (exit, stdout, stderr) = Run(folder, "dotnet", args);
        Assert.True(exit == 0, $"dotnet {string.Join(' ', args)} failed:\n{stdout}\n{stderr}");
    }

    private static (int ExitCode, string Stdout, string Stderr) Run(string folder, string program, params string[] args) => Run(folder, program, args, []);

    private static (int ExitCode, string Stdout, string Stderr) Run(string folder, string program, string[] args, Dictionary<string, string> environment)
    {
        using var process = Start(folder, program, args, environment);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(20)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in 20 minutes");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    private static Process Start(string folder, string program, params string[] args) => Start(folder, program, args, []);

    private static Process Start(string folder, string program, string[] args, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        start.Environment.Remove("FLOWDIFFUSION_HOME");
        foreach (var (name, value) in environment) start.Environment[name] = value;
        return Process.Start(start)!;
    }

    private static async Task<string> WaitForAsync(HttpClient http, string url, Process process)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"{Path.GetFileName(process.StartInfo.FileName)} {string.Join(' ', process.StartInfo.ArgumentList)} exited with code {process.ExitCode}: {await process.StandardError.ReadToEndAsync()}");
            try
            {
                return await http.GetStringAsync(url);
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(500);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
