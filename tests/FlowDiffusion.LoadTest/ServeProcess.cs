using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FlowDiffusion.LoadTest;

/// <summary>
/// <c>flowdiffusion serve</c> as a real child process on a free loopback port, over a given data folder; killed with
/// SIGKILL (what <c>kill -9</c> does), never asked to stop.
/// </summary>
internal sealed class ServeProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private bool _disposed;

    private ServeProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>Where it listens (always 127.0.0.1).</summary>
    public Uri Address { get; }

    /// <summary>A client for its API.</summary>
    public HttpClient Client { get; }

    /// <summary>Everything it wrote to stdout and stderr so far.</summary>
    public string Log
    {
        get
        {
            lock (_log) return _log.ToString();
        }
    }

    /// <summary>The built CLI (flowdiffusion.dll) of this checkout: the newest of its build configurations.</summary>
    public static string FindCli(string repositoryRoot) =>
        Directory.EnumerateFiles(Path.Combine(repositoryRoot, "engine", "FlowDiffusion.Cli", "bin"), "flowdiffusion.dll", SearchOption.AllDirectories)
            .OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
        ?? throw new FileNotFoundException("flowdiffusion.dll not built; run `dotnet build engine/FlowDiffusion.Cli` first.");

    /// <summary>The folder holding FlowDiffusion.sln, walking up from this program.</summary>
    public static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FlowDiffusion.sln"))) return dir.FullName;
        throw new InvalidOperationException("FlowDiffusion.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>A port free on loopback right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts the server and waits until <c>/api/health</c> answers.</summary>
    /// <param name="cli">flowdiffusion.dll.</param>
    /// <param name="workingFolder">The checkout: plugins, models and workflows resolve against it.</param>
    /// <param name="root">The scratch folder: data (run database) and outputs live under it.</param>
    /// <param name="port">The loopback port.</param>
    /// <param name="pluginFolders">Plugin folders, relative to <paramref name="workingFolder"/> or absolute.</param>
    /// <param name="cancellationToken">Stops waiting for readiness.</param>
    public static async Task<ServeProcess> StartAsync(string cli, string workingFolder, string root, int port, IReadOnlyList<string> pluginFolders,
        CancellationToken cancellationToken)
    {
        var address = new Uri($"http://127.0.0.1:{port}");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = root,
        };
        string[] config =
        [
            $"FlowDiffusion:Server:WorkingFolder={workingFolder}",
            $"FlowDiffusion:DataFolder={Path.Combine(root, "data")}",
            $"FlowDiffusion:OutputFolder={Path.Combine(root, "outputs")}",
            "FlowDiffusion:WorkflowsFolder=workflows",
            // Measures the queue, not hot reload: a parallel build rebuilding plugins/ must not reload the pack mid-run.
            "FlowDiffusion:WatchPlugins=false",
            .. pluginFolders.Select((folder, i) => $"FlowDiffusion:PluginFolders:{i}={folder}"),
        ];
        foreach (var argument in (string[])[cli, "serve", "--urls", address.ToString().TrimEnd('/'), .. config.SelectMany(c => new[] { "--config", c })])
            start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + cli);
        var serve = new ServeProcess(process, address);
        process.OutputDataReceived += (_, e) => serve.Append(e.Data);
        process.ErrorDataReceived += (_, e) => serve.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"flowdiffusion serve exited with {process.ExitCode}:\n{serve.Log}");
            try
            {
                using var health = await serve.Client.GetAsync("/api/health", cancellationToken);
                if (health.IsSuccessStatusCode) return serve;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            if (DateTime.UtcNow > deadline)
            {
                serve.Dispose();
                throw new TimeoutException($"flowdiffusion serve did not answer /api/health within 90 s:\n{serve.Log}");
            }
            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, exactly as after <c>kill -9</c> (the operating system's file cache survives, unlike a power cut).</summary>
    public void KillHard()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // The load tool disposes a killed server before starting the next, and again on the way out.
        if (_disposed) return;
        _disposed = true;
        Client.Dispose();
        KillHard();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_log) _log.AppendLine(line);
    }
}
