using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Plugins;

namespace FlowDiffusion.Plugins.Tests;

/// <summary>
/// A plugin folder that appears or is rebuilt while the host runs is picked up without a restart: the next run uses
/// the new build, a run already in flight finishes on the old one.
/// </summary>
public sealed class HotReloadTests
{
    private static readonly TimeSpan WatchTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Rebuilt_pack_serves_the_next_run_while_the_run_in_flight_finishes_on_the_old_build()
    {
        var packs = PluginBuilds.OfflineBuilt;
        var root = TestHost.RootWith(("reloadable", packs.ReloadV1));
        using var host = new TestHost(root);
        var inFlight = host.Start(Greeting(delayMs: 3000));
        await StartedAsync(inFlight, "greet");

        Scratch.CopyTree(packs.ReloadV2, Path.Combine(root, "reloadable"));
        var reloaded = host.Engine.ReloadPlugins();
        var next = TestHost.Completed(await host.RunAsync(Greeting(delayMs: 0)));
        var old = TestHost.Completed(await inFlight.Completion);

        Assert.Empty(reloaded.Errors);
        Assert.Equal("2.0.0", host.Engine.Catalog.Find("reload.greeting")!.Version);
        Assert.NotNull(host.Engine.Catalog.Find("reload.added"));
        Assert.Equal("greeting from build 2", next.Output("greet", "text"));
        Assert.Equal("greeting from build 1", old.Output("greet", "text"));
    }

    [Fact]
    public async Task Run_in_flight_that_finishes_after_a_rebuild_does_not_serve_its_old_result_to_the_next_run_from_the_cache()
    {
        var packs = PluginBuilds.OfflineBuilt;
        var root = TestHost.RootWith(("reloadable", packs.ReloadV1));
        using var host = new TestHost(root);
        var inFlight = host.Start(Constant(delayMs: 2000));
        await StartedAsync(inFlight, "constant");

        Scratch.CopyTree(packs.ReloadV2, Path.Combine(root, "reloadable"));
        host.Engine.ReloadPlugins();
        var old = TestHost.Completed(await inFlight.Completion);
        var next = TestHost.Completed(await host.RunAsync(Constant(delayMs: 2000)));
        var again = TestHost.Completed(await host.RunAsync(Constant(delayMs: 2000)));

        Assert.Equal("1.0.0", host.Engine.Catalog.Find("reload.constant")!.Version);
        Assert.Equal("constant from build 1", old.Output("constant", "text"));
        Assert.Equal("constant from build 2", next.Output("constant", "text"));
        Assert.False(next.Nodes.Single(n => n.NodeId == "constant").Cached);
        Assert.True(again.Nodes.Single(n => n.NodeId == "constant").Cached);
        Assert.Equal("constant from build 2", again.Output("constant", "text"));
    }

    [Fact]
    public async Task Rebuilt_pack_gets_a_fresh_resource_store_because_what_its_old_build_stored_is_of_the_old_types()
    {
        var packs = PluginBuilds.OfflineBuilt;
        var root = TestHost.RootWith(("reloadable", packs.ReloadV1));
        using var host = new TestHost(root);
        var before = TestHost.Completed(await host.RunAsync(Resource));

        Scratch.CopyTree(packs.ReloadV2, Path.Combine(root, "reloadable"));
        host.Engine.ReloadPlugins();
        var after = TestHost.Completed(await host.RunAsync(Resource));

        Assert.Equal("resource from build 1", before.Output("resource", "text"));
        Assert.Equal("resource from build 2", after.Output("resource", "text"));
    }

    [Fact]
    public void Reload_without_changes_keeps_the_loaded_node_types()
    {
        using var host = new TestHost(TestHost.RootWith(("reloadable", PluginBuilds.OfflineBuilt.ReloadV1)));
        var before = host.Engine.Catalog.Find("reload.greeting");

        host.Engine.ReloadPlugins();

        Assert.Same(before, host.Engine.Catalog.Find("reload.greeting"));
    }

    [Fact]
    public async Task Watcher_picks_up_a_new_pack_folder_without_a_restart()
    {
        var root = Scratch.NewFolder("watched");
        using var host = new TestHost(root);
        using var watcher = host.Engine.WatchPlugins(TimeSpan.FromMilliseconds(300));
        var loaded = ReloadedWhen(watcher, set => set.Catalog.Find("reload.greeting") is not null);

        Assert.Null(host.Engine.Catalog.Find("reload.greeting"));
        Scratch.CopyTree(PluginBuilds.OfflineBuilt.ReloadV1, Path.Combine(root, "reloadable"));
        await loaded.WaitAsync(WatchTimeout);
        var result = TestHost.Completed(await host.RunAsync(Greeting(delayMs: 0)));

        Assert.Equal("greeting from build 1", result.Output("greet", "text"));
    }

    [Fact]
    public async Task Watcher_picks_up_a_rebuilt_pack_and_the_next_run_uses_it()
    {
        var packs = PluginBuilds.OfflineBuilt;
        var root = TestHost.RootWith(("reloadable", packs.ReloadV1));
        using var host = new TestHost(root);
        using var watcher = host.Engine.WatchPlugins(TimeSpan.FromMilliseconds(300));
        var rebuilt = ReloadedWhen(watcher, set => set.Catalog.Find("reload.greeting")?.Version == "2.0.0");

        Scratch.CopyTree(packs.ReloadV2, Path.Combine(root, "reloadable"));
        await rebuilt.WaitAsync(WatchTimeout);
        var result = TestHost.Completed(await host.RunAsync(Greeting(delayMs: 0)));

        Assert.Equal("greeting from build 2", result.Output("greet", "text"));
    }

    [Fact]
    public void Broken_rebuild_is_reported_and_the_host_keeps_running_its_other_packs()
    {
        var packs = PluginBuilds.OfflineBuilt;
        var root = TestHost.RootWith(("reloadable", packs.ReloadV1), ("samples", packs.Sample));
        using var host = new TestHost(root);

        File.WriteAllBytes(Path.Combine(root, "reloadable", "Tests.Reloadable.dll"), [(byte)'M', (byte)'Z', 1, 2, 3]);
        var reloaded = host.Engine.ReloadPlugins();

        var error = Assert.Single(reloaded.Errors);
        Assert.Equal("tests.reloadable", error.Plugin);
        Assert.StartsWith("'Tests.Reloadable.dll' is not a valid .NET assembly", error.Cause);
        Assert.Null(host.Engine.Catalog.Find("reload.greeting"));
        Assert.NotNull(host.Engine.Catalog.Find("guidance.colour"));
    }

    private static string Greeting(int delayMs) => $$"""
        flowdiffusion: 1
        name: greet
        nodes:
          greet: { node: reload.greeting, with: { delay_ms: {{delayMs}} } }
        """;

    private const string Resource = """
        flowdiffusion: 1
        name: resource
        nodes:
          resource: { node: reload.resource }
        """;

    private static string Constant(int delayMs) => $$"""
        flowdiffusion: 1
        name: constant
        nodes:
          constant: { node: reload.constant, with: { delay_ms: {{delayMs}} } }
        """;

    private static async Task StartedAsync(WorkflowRun run, string node)
    {
        var started = new TaskCompletionSource();
        _ = Task.Run(async () =>
        {
            await foreach (var e in run.ReadEventsAsync())
                if (e is NodeStarted s && s.NodeId == node) started.TrySetResult();
            started.TrySetException(new InvalidOperationException($"run ended before node '{node}' started"));
        });
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static Task ReloadedWhen(PluginWatcher watcher, Func<PluginSet, bool> condition)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        watcher.Reloaded += (_, set) => { if (condition(set)) done.TrySetResult(); };
        return done.Task;
    }
}
