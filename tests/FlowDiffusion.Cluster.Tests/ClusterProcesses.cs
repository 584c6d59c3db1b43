using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.LoadTest;
using Xunit.Abstractions;

namespace FlowDiffusion.Cluster.Tests;

/// <summary>
/// A real cluster on this machine: redis-server (membership), <c>flowdiffusion serve --cluster</c> (the coordinator, its
/// API on a free port) and <c>flowdiffusion worker</c> processes on the shipped models, all in a temp folder deleted at
/// the end. The caller skips when <see cref="Available"/> is false.
/// </summary>
internal sealed class ClusterProcesses : IAsyncDisposable
{
    public const string Redis = "/usr/bin/redis-server";
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(120);
    private readonly TempFolder _folder = new();
    private readonly ITestOutputHelper _output;
    private readonly List<ChildProcess> _children = [];
    private readonly string _cli = ServeProcess.FindCli(RepositoryRoot.Path);
    private readonly string[] _common;
    private readonly Dictionary<string, string> _environment = new() { ["FLOWDIFFUSION_HOME"] = RepositoryRoot.Path };

    private ClusterProcesses(ITestOutputHelper output, string membership, string[] settings)
    {
        _output = output;
        Membership = membership;
        _common = ["--advertise", "127.0.0.1", "--config", "FlowDiffusion:WatchPlugins=false", .. settings.SelectMany(s => new[] { "--config", s })];
    }

    public static bool Available => File.Exists(Redis);

    public string Membership { get; }

    public string Folder => _folder.Path;

    public ChildProcess Server { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public Dictionary<string, ChildProcess> Workers { get; } = new(StringComparer.Ordinal);

    /// <summary>Starts Redis, the server and workers <paramref name="workers"/>; every member gets <paramref name="settings"/> (<c>key=value</c>).</summary>
    public static async Task<ClusterProcesses> StartAsync(ITestOutputHelper output, string[] workers, params string[] settings)
    {
        var redisPort = ServeProcess.FreePort();
        var cluster = new ClusterProcesses(output, $"redis://127.0.0.1:{redisPort}", settings);
        try
        {
            var redis = cluster.Adopt(ChildProcess.Start(Redis, ["--port", $"{redisPort}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", cluster.Folder], cluster.Folder));
            await redis.WaitForAsync("Ready to accept connections", TimeSpan.FromSeconds(30));
            var apiPort = ServeProcess.FreePort();
            cluster.Server = cluster.Adopt(ChildProcess.StartDotnet(cluster._cli,
                ["serve", "--cluster", cluster.Membership, "--urls", $"http://127.0.0.1:{apiPort}", "--silo-port", $"{ServeProcess.FreePort()}", .. cluster._common,
                 "--config", $"FlowDiffusion:DataFolder={Path.Combine(cluster.Folder, "data")}", "--config", $"FlowDiffusion:OutputFolder={cluster.OutputFolder}"],
                cluster.Folder, cluster._environment));
            foreach (var name in workers) cluster.StartWorker(name);
            await cluster.Server.WaitForAsync("API listening on", Startup);
            foreach (var worker in cluster.Workers.Values) await worker.WaitForAsync("worker joined", Startup);
            cluster.Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}"), Timeout = TimeSpan.FromSeconds(60) };
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The coordinator's output folder.</summary>
    public string OutputFolder => Path.Combine(Folder, "outputs");

    /// <summary>Starts worker <paramref name="name"/> (one slot).</summary>
    public ChildProcess StartWorker(string name) =>
        Workers[name] = Adopt(ChildProcess.StartDotnet(_cli, ["worker", "--cluster", Membership, "--name", name, "--silo-port", $"{ServeProcess.FreePort()}", .. _common], Folder, _environment));

    /// <summary>Submits a txt2img run on the tiny model; returns its id.</summary>
    public async Task<string> SubmitAsync(int steps, int size = 128)
    {
        using var submitted = await Client.PostAsJsonAsync("/api/runs", new
        {
            workflow = "txt2img",
            inputs = new { model = "models/tiny-sd", steps, width = size, height = size },
        });
        Assert.True(submitted.IsSuccessStatusCode, await submitted.Content.ReadAsStringAsync());
        return JsonNode.Parse(await submitted.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
    }

    public async Task<JsonNode> RunAsync(string id) => JsonNode.Parse(await Client.GetStringAsync($"/api/runs/{id}"))!;

    /// <summary>Polls the API until the run is final.</summary>
    public async Task<JsonNode> WaitFinalAsync(string id)
    {
        var deadline = DateTime.UtcNow + Startup;
        JsonNode run;
        while ((run = await RunAsync(id))["status"]!.GetValue<string>() is "queued" or "running")
        {
            Assert.True(DateTime.UtcNow < deadline, "the run did not finish: " + run.ToJsonString());
            await Task.Delay(100);
        }
        return run;
    }

    private ChildProcess Adopt(ChildProcess child)
    {
        _children.Add(child);
        return child;
    }

    public ValueTask DisposeAsync()
    {
        Client?.Dispose();
        // Workers and the server first, Redis last (it was started first).
        for (var i = _children.Count - 1; i >= 0; i--) _children[i].Dispose();
        if (Server is not null) _output.WriteLine(Server.Log.Length > 4000 ? Server.Log[^4000..] : Server.Log);
        _folder.Dispose();
        return ValueTask.CompletedTask;
    }
}
