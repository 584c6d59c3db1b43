using FlowDiffusion.Cluster.Dispatch;
using FlowDiffusion.Cluster.Hosting;
using FlowDiffusion.Cluster.Worker;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Server;
using FlowDiffusion.Server.Runs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace FlowDiffusion.Cluster.Tests;

/// <summary>
/// An in-process Orleans cluster (Microsoft.Orleans.TestingHost): the first silo configured is the coordinator (run store in SQLite, event
/// bus, output store, the real node catalog of the SD pack for reading runs' needs), every other silo a worker of fake
/// GPUs. Runs can be put in the store before the cluster starts, so routing sees the whole queue at once.
/// </summary>
internal sealed class TestCluster : IAsyncDisposable
{
    private readonly TempFolder _folder = new();
    private readonly Dictionary<string, FakeGpu> _workersBySilo = new(StringComparer.Ordinal);
    private InProcessTestCluster? _cluster;
    private bool _coordinatorDue;

    private TestCluster(Journal journal, Dictionary<string, string?> settings)
    {
        Journal = journal;
        Settings = settings;
    }

    public Journal Journal { get; }

    private Dictionary<string, string?> Settings { get; }

    public string Database => Path.Combine(_folder.Path, "runs.db");

    public string Outputs => Path.Combine(_folder.Path, "outputs");

    public InProcessTestCluster Cluster => _cluster!;

    public IServiceProvider Coordinator => Cluster.Silos.Single(s => s.ServiceProvider.GetService<IRunStore>() is not null).ServiceProvider;

    public IRunStore Store => Coordinator.GetRequiredService<IRunStore>();

    public EmbeddedRunBackend Backend => Coordinator.GetRequiredService<EmbeddedRunBackend>();

    /// <summary>
    /// The dispatch grain as the coordinator's own silo reaches it (as the API does): the test client's copy of the cluster
    /// manifest may predate the coordinator's grain types for up to a refresh interval and then cannot resolve the grain.
    /// </summary>
    public IDispatchGrain Dispatcher => Coordinator.GetRequiredService<IGrainFactory>().GetGrain<IDispatchGrain>(0);

    /// <summary>The catalog the coordinator and the fake workers share, read once from the real node pack.</summary>
    public static TestCluster Prepare()
    {
        var settings = new Dictionary<string, string?>
        {
            ["FlowDiffusion:Server:WorkingFolder"] = RepositoryRoot.Path,
            ["FlowDiffusion:PluginFolders:0"] = Path.Combine(RepositoryRoot.Path, "plugins"),
            ["FlowDiffusion:ModelsFolder"] = Path.Combine(RepositoryRoot.Path, "models"),
            ["FlowDiffusion:WatchPlugins"] = "false",
        };
        using var services = new ServiceCollection().AddLogging().AddFlowDiffusion(new ConfigurationBuilder().AddInMemoryCollection(settings).Build()).BuildServiceProvider();
        var engine = services.GetRequiredService<FlowDiffusionEngine>();
        var catalog = engine.Catalog.All;
        return new TestCluster(new Journal([.. catalog.Select(n => n.Id + "@" + n.Version)], [.. catalog.Select(n => n.Plugin).Distinct()]), settings);
    }

    /// <summary>Queues a txt2img run on <paramref name="model"/> straight in the store (before or while the cluster runs).</summary>
    public async Task<string> SubmitAsync(string model, int priority = 0)
    {
        var yaml = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "workflows", "txt2img.yaml"));
        // Before the cluster starts, the store is opened on its own (SQLite: the coordinator opens the same file later).
        var target = _cluster is null ? new SqliteRunStore(Database) : Store;
        var (run, _) = await target.AddAsync(new RunSubmission(yaml, $$"""{"model":"{{model}}"}""", "txt2img", priority), CancellationToken.None);
        return run.Id;
    }

    /// <summary>Starts the coordinator and one worker silo per entry of <paramref name="workers"/> (name, models, slots).</summary>
    public async Task StartAsync(IReadOnlyList<(string Name, string[] Models, int Slots)> workers, int steps, TimeSpan stepDelay, Action<ScaleOutOptions>? tune = null)
    {
        var builder = new InProcessTestClusterBuilder((short)(workers.Count + 1));
        builder.Options.AssumeHomogenousSilosForTesting = false;
        var next = 0;
        var gate = new object();
        builder.ConfigureSilo((options, silo) =>
        {
            int index;
            lock (gate)
            {
                // A coordinator started after a kill takes the first one's role; every other new silo is the next worker.
                index = _coordinatorDue ? 0 : next++;
                _coordinatorDue = false;
            }
            silo.Services.Configure<ScaleOutOptions>(o =>
            {
                o.LeaseSeconds = 3;
                o.HeartbeatSeconds = 0.2;
                o.ClaimPollSeconds = 0.05;
                o.SweepSeconds = 0.1;
                tune?.Invoke(o);
            });
            if (index == 0)
            {
                var configuration = new ConfigurationBuilder().AddInMemoryCollection(Settings).Build();
                silo.Services.AddFlowDiffusion(configuration);
                silo.Services.AddOptions<ServerOptions>().Bind(configuration.GetSection(ServerOptions.Section));
                silo.Services.AddSingleton<IRunStore>(_ => new SqliteRunStore(Database));
                silo.Services.AddSingleton(_ => new RunEventBus());
                silo.Services.AddSingleton<IOutputStore>(_ => new LocalOutputStore(Outputs));
                silo.Services.AddSingleton<EmbeddedRunBackend>();
                silo.Services.AddSingleton<RunRequirementsReader>();
                ClusterHosting.ConfigureCoordinator(silo);
                return;
            }
            var (name, models, slots) = workers[index - 1];
            var gpu = new FakeGpu(name, models, steps, stepDelay, Journal);
            lock (gate) _workersBySilo[options.SiloName] = gpu;
            silo.Services.AddSingleton<IRunExecutor>(gpu);
            silo.Services.Configure<ScaleOutOptions>(o => (o.Slots, o.WorkerName) = (slots, name));
            ClusterHosting.ConfigureWorker(silo);
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    /// <summary>
    /// Kills the coordinator's silo (its grain activations and timers stop, nothing is handed over: as <c>kill -9</c> would)
    /// and, after <paramref name="down"/>, starts a new coordinator silo over the same run store and output folder.
    /// </summary>
    public async Task RestartCoordinatorAsync(TimeSpan down)
    {
        var coordinator = Cluster.Silos.Single(s => s.ServiceProvider.GetService<IRunStore>() is not null);
        await Cluster.KillSiloAsync(coordinator);
        await Task.Delay(down);
        _coordinatorDue = true;
        await Cluster.StartAdditionalSiloAsync();
    }

    /// <summary>The silo of worker <paramref name="name"/>.</summary>
    public InProcessSiloHandle SiloOf(string name) =>
        Cluster.Silos.Single(s => s.ServiceProvider.GetService<IRunExecutor>() is FakeGpu gpu && gpu.Name == name);

    /// <summary>Polls the store until the run is in one of <paramref name="states"/>.</summary>
    public async Task<RunRecord> WaitAsync(string id, TimeSpan timeout, params RunState[] states)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var run = await Store.GetAsync(id, CancellationToken.None) ?? throw new InvalidOperationException($"run {id} is gone");
            if (states.Contains(run.Status)) return run;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"run {id} still {run.Status} after {timeout.TotalSeconds} s; wanted {string.Join("|", states)}");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.StopAllSilosAsync();
            await _cluster.DisposeAsync();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }
}
