using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Playwright;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>
/// The editor started as a real process from its build output on a free loopback port, with scratch data, output and
/// workflows folders, and Debian's Chromium driven by Playwright. Nothing starts when /usr/bin/chromium is absent.
/// The shared one (the browser collection's fixture) does not watch plugins; <see cref="WatchingPlugins"/> makes one that does.
/// </summary>
public sealed class EditorServer : IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";
    private readonly TempFolder _scratch = new();
    private readonly string _name;
    private readonly IReadOnlyList<string>? _watchedPluginFolders;
    private readonly string? _modelsFolder;
    private IReadOnlyList<string> _arguments = [];
    private IReadOnlyList<string> _inputFolders = [];
    private Process? _process;
    private IPlaywright? _playwright;

    /// <summary>The editor on the checkout's plugins, loaded once: plugin changes need a restart.</summary>
    public EditorServer() : this("editor-server", null)
    {
    }

    private EditorServer(string name, IReadOnlyList<string>? watchedPluginFolders, string? modelsFolder = null)
    {
        _name = name;
        _watchedPluginFolders = watchedPluginFolders;
        _modelsFolder = modelsFolder;
    }

    public static bool Available => File.Exists(Chromium);

    /// <summary>Where the editor process's console output goes (overwritten by each test run).</summary>
    public string LogFile => Path.Combine(AppContext.BaseDirectory, _name + ".log");

    /// <summary>
    /// An editor (not started: call <see cref="InitializeAsync"/>) loading plugins from <paramref name="pluginFolders"/>,
    /// watching them and reloading 0.3 s after their files settle; its log is <paramref name="name"/>.log.
    /// </summary>
    public static EditorServer WatchingPlugins(string name, params string[] pluginFolders) => new(name, pluginFolders);

    /// <summary>
    /// An editor (not started) queuing its runs on the FlowDiffusion server at <paramref name="server"/> (<c>--server</c>,
    /// and <c>--api-key</c> when <paramref name="apiKey"/> is set); its log is <paramref name="name"/>.log. It serves no API of its own.
    /// </summary>
    public static EditorServer AttachedTo(string name, string server, string? apiKey) =>
        new(name, null) { _arguments = apiKey is null ? ["--server", server] : ["--server", server, "--api-key", apiKey] };

    /// <summary>An editor (not started) whose models folder is <paramref name="modelsFolder"/>; its log is <paramref name="name"/>.log.</summary>
    public static EditorServer WithModels(string name, string modelsFolder) => new(name, null, modelsFolder);

    /// <summary>
    /// An editor (not started) whose models folder is <paramref name="modelsFolder"/> and whose runs may read files in
    /// <paramref name="inputFolders"/> besides its models and scratch workflows folders (FlowDiffusion:InputFolders).
    /// </summary>
    public static EditorServer WithModelsAndInputs(string name, string modelsFolder, IEnumerable<string> inputFolders) =>
        new(name, null, modelsFolder) { _inputFolders = [modelsFolder, .. inputFolders] };

    public string Url { get; private set; } = "";

    public string WorkflowsFolder => Path.Combine(_scratch.Path, "workflows");

    public string OutputFolder => Path.Combine(_scratch.Path, "outputs");

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>The variable that makes browser tests write their screenshots into docs/screenshots (see README).</summary>
    public const string UpdateScreenshots = "FLOWDIFFUSION_UPDATE_SCREENSHOTS";

    /// <summary>
    /// Where browser tests put screenshots: beside the test output, so a test run leaves the checkout clean; docs/screenshots
    /// when <see cref="UpdateScreenshots"/> is 1 (<c>FLOWDIFFUSION_UPDATE_SCREENSHOTS=1 dotnet test tests/FlowDiffusion.Editor.Tests</c>).
    /// </summary>
    public static string Screenshots => Directory.CreateDirectory(Environment.GetEnvironmentVariable(UpdateScreenshots) == "1"
        ? Path.Combine(RepositoryRoot.Path, "docs", "screenshots")
        : Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;

    public async Task InitializeAsync()
    {
        if (!Available) return;
        Directory.CreateDirectory(WorkflowsFolder);
        foreach (var file in Directory.EnumerateFiles(RepositoryRoot.Workflows, "*.yaml")) File.Copy(file, Path.Combine(WorkflowsFolder, Path.GetFileName(file)));
        File.Copy(Path.Combine(RepositoryRoot.Workflows, "templates.txt"), Path.Combine(WorkflowsFolder, "templates.txt"));
        await File.WriteAllTextAsync(Path.Combine(WorkflowsFolder, "big.yaml"), BigWorkflow.Yaml(200));

        var port = FreePort();
        Url = $"http://127.0.0.1:{port}";
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = RepositoryRoot.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(EditorAssembly());
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(Url);
        foreach (var argument in _arguments) start.ArgumentList.Add(argument);
        start.Environment["FLOWDIFFUSION_FlowDiffusion__DataFolder"] = Path.Combine(_scratch.Path, "data");
        start.Environment["FLOWDIFFUSION_FlowDiffusion__OutputFolder"] = OutputFolder;
        start.Environment["FLOWDIFFUSION_FlowDiffusion__WorkflowsFolder"] = WorkflowsFolder;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        // Checkpoints a test converts are cached in its scratch folder, deleted with it.
        start.Environment["FLOWDIFFUSION_CACHE"] = Path.Combine(_scratch.Path, "cache");
        if (_modelsFolder is not null) start.Environment["FLOWDIFFUSION_FlowDiffusion__ModelsFolder"] = _modelsFolder;
        string[] inputFolders = _inputFolders.Count == 0 ? [] : [WorkflowsFolder, .. _inputFolders];
        for (var i = 0; i < inputFolders.Length; i++) start.Environment[$"FLOWDIFFUSION_FlowDiffusion__InputFolders__{i}"] = inputFolders[i];
        if (_watchedPluginFolders is null)
        {
            // Builds elsewhere in the checkout rewrite plugins/ while the tests run; a reload mid-test is not what these test.
            start.Environment["FLOWDIFFUSION_FlowDiffusion__WatchPlugins"] = "false";
        }
        else
        {
            start.Environment["FLOWDIFFUSION_FlowDiffusion__WatchPlugins"] = "true";
            start.Environment["FLOWDIFFUSION_FlowDiffusion__PluginReloadDelaySeconds"] = "0.3";
            for (var i = 0; i < _watchedPluginFolders.Count; i++)
                start.Environment[$"FLOWDIFFUSION_FlowDiffusion__PluginFolders__{i}"] = _watchedPluginFolders[i];
        }
        _process = Process.Start(start)!;
        // The server's own log, kept next to the test results for a failure that happens on its side.
        var log = TextWriter.Synchronized(new StreamWriter(LogFile) { AutoFlush = true });
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) log.WriteLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.WriteLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await WaitForHealthAsync();

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
        });
    }

    /// <summary>A 1280×800 page with the editor loaded and its canvas script attached.</summary>
    public async Task<IPage> OpenAsync()
    {
        var page = await Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(Url);
        await page.WaitForSelectorAsync(".fd-canvas[data-ready='1']");
        await page.WaitForSelectorAsync(".fd-node");
        return page;
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        _scratch.Dispose();
    }

    private async Task WaitForHealthAsync()
    {
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited) throw new InvalidOperationException($"The editor exited with code {_process.ExitCode}.");
            try
            {
                // An editor attached to a server has no API of its own: its page is what answers.
                if ((await http.GetAsync(Url + (_arguments.Count > 0 ? "/" : "/api/health"))).StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(300);
        }
        throw new TimeoutException("The editor did not answer /api/health within 90 s.");
    }

    // The editor's own build output (same configuration as these tests), which carries its static-asset manifests.
    internal static string EditorAssembly()
    {
        var parts = AppContext.BaseDirectory.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var bin = Array.LastIndexOf(parts, "bin");
        var configuration = bin >= 0 && bin + 1 < parts.Length ? parts[bin + 1] : "Debug";
        var path = Path.Combine(RepositoryRoot.Path, "ui", "FlowDiffusion.Editor", "bin", configuration, "net10.0", "FlowDiffusion.Editor.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build the editor first.", path);
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
