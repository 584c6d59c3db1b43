using System.Diagnostics;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>
/// The editor finds the installation's home wherever it starts, and when its home has no plugins the page says so
/// (read from the server-rendered page, so no browser is needed).
/// </summary>
public sealed class InstallationHomeTests
{
    [Fact]
    public async Task Editor_started_in_its_project_folder_loads_the_checkouts_plugins_and_workflows()
    {
        var (page, nodes, workflows) = await ServeAsync(Path.Combine(RepositoryRoot.Path, "ui", "FlowDiffusion.Editor"), home: null);

        Assert.DoesNotContain("No plugin loaded", page);
        Assert.Contains("clip.encode", nodes);
        Assert.Contains("txt2img", workflows);
    }

    [Fact]
    public async Task Editor_whose_home_has_no_plugins_says_so_on_the_page_naming_the_folder_searched()
    {
        using var home = new TempFolder();
        Directory.CreateDirectory(Path.Combine(home.Path, "workflows"));

        var (page, nodes, _) = await ServeAsync(home.Path, home.Path);

        Assert.Contains("id=\"no-plugins\"", page);
        Assert.Contains("No plugin loaded", page);
        Assert.Contains(Path.Combine(home.Path, "plugins"), page);
        Assert.DoesNotContain("clip.encode", nodes);
    }

    // Starts the built editor in `folder` (with FLOWDIFFUSION_HOME when given) and reads its page, node list and workflow list.
    private static async Task<(string Page, string Nodes, string Workflows)> ServeAsync(string folder, string? home)
    {
        using var scratch = new TempFolder();
        var url = $"http://127.0.0.1:{EditorServer.FreePort()}";
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(EditorServer.EditorAssembly());
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(url);
        start.Environment.Remove("FLOWDIFFUSION_HOME");
        if (home is not null) start.Environment["FLOWDIFFUSION_HOME"] = home;
        start.Environment["FLOWDIFFUSION_FlowDiffusion__DataFolder"] = Path.Combine(scratch.Path, "data");
        start.Environment["FLOWDIFFUSION_FlowDiffusion__OutputFolder"] = Path.Combine(scratch.Path, "outputs");
        start.Environment["FLOWDIFFUSION_FlowDiffusion__WatchPlugins"] = "false";
        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient();
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (true)
            {
                if (process.HasExited) throw new InvalidOperationException($"the editor exited with code {process.ExitCode}");
                try
                {
                    var page = await http.GetStringAsync(url + "/");
                    return (page, await http.GetStringAsync(url + "/api/nodes"), await http.GetStringAsync(url + "/api/workflows"));
                }
                catch (HttpRequestException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(500);
                }
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }
}
