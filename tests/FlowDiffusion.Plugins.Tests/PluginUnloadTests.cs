using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;

namespace FlowDiffusion.Plugins.Tests;

/// <summary>
/// With FlowDiffusion:UnloadPluginBuilds on, a rebuilt plugin's old build is unloaded: its load context is collected
/// once no run uses it, while a run in flight on it keeps it alive and finishes on it; a plugin that brings its own
/// native library cannot be unloaded and says so. Off (the default), no plugin loads into a collectible context.
/// </summary>
public sealed class PluginUnloadTests
{
    private const int GcRounds = 40;

    [Fact]
    public async Task Old_build_of_a_rebuilt_pack_is_collected_once_no_run_uses_it()
    {
        var packs = PluginBuilds.OfflineBuilt;
        var root = TestHost.RootWith(("reloadable", packs.ReloadV1));
        using var host = new TestHost(unloadPluginBuilds: true, root);
        Assert.Equal("greeting from build 1", TestHost.Completed(await host.RunAsync(Greeting(delayMs: 0))).Output("greet", "text"));
        var old = LoadContextOf(host.Engine, "reload.greeting");

        Scratch.CopyTree(packs.ReloadV2, Path.Combine(root, "reloadable"));
        host.Engine.ReloadPlugins();
        var collected = await CollectedAsync(old);
        var next = TestHost.Completed(await host.RunAsync(Greeting(delayMs: 0)));

        Assert.True(collected, $"the old build's load context was still alive after {GcRounds} collections");
        Assert.True(host.Engine.Plugins.Plugins.Single().Unloadable);
        Assert.Equal("greeting from build 2", next.Output("greet", "text"));
    }

    [Fact]
    public async Task Run_in_flight_keeps_the_old_build_loaded_until_it_finishes_then_the_build_is_collected()
    {
        var packs = PluginBuilds.OfflineBuilt;
        var root = TestHost.RootWith(("reloadable", packs.ReloadV1));
        using var host = new TestHost(unloadPluginBuilds: true, root);
        var old = LoadContextOf(host.Engine, "reload.greeting");
        var inFlight = StartInFlight(host);
        await inFlight.Started.WaitAsync(TimeSpan.FromSeconds(30));

        Scratch.CopyTree(packs.ReloadV2, Path.Combine(root, "reloadable"));
        host.Engine.ReloadPlugins();
        var collectedWhileRunning = await CollectedAsync(old, rounds: 5);
        var finishedBeforeCheck = inFlight.Completion.IsCompleted;
        var text = await inFlight.Completion;
        var collected = await CollectedAsync(old);

        Assert.False(finishedBeforeCheck, "the run finished before the check; make it longer");
        Assert.False(collectedWhileRunning, "the old build was collected while a run was using it");
        Assert.Equal("greeting from build 1", text);
        Assert.True(collected, $"the old build's load context was still alive after {GcRounds} collections once its run had finished");
        Assert.Equal("greeting from build 2", TestHost.Completed(await host.RunAsync(Greeting(delayMs: 0))).Output("greet", "text"));
    }

    [Fact]
    public async Task By_default_packs_load_into_contexts_that_are_not_collectible_and_an_old_build_stays_loaded()
    {
        var packs = PluginBuilds.OfflineBuilt;
        var root = TestHost.RootWith(("reloadable", packs.ReloadV1));
        using var host = new TestHost(root);
        var plugin = host.Engine.Plugins.Plugins.Single();
        var old = AssemblyLoadContext.GetLoadContext(host.Engine.Catalog.Find("reload.greeting")!.NodeType.Assembly)!;

        Scratch.CopyTree(packs.ReloadV2, Path.Combine(root, "reloadable"));
        host.Engine.ReloadPlugins();
        var next = TestHost.Completed(await host.RunAsync(Greeting(delayMs: 0)));

        Assert.False(host.Engine.Options.UnloadPluginBuilds);
        Assert.False(old.IsCollectible);
        Assert.False(plugin.UnloadingOn);
        Assert.False(plugin.Unloadable);
        Assert.Contains(old, AssemblyLoadContext.All);
        Assert.Equal("greeting from build 2", next.Output("greet", "text"));
    }

    [Fact]
    public void Pack_that_brings_its_own_native_library_loads_into_a_context_that_is_not_collectible_and_says_why()
    {
        using var host = new TestHost(unloadPluginBuilds: true, TestHost.RootWith(("own-native", PluginBuilds.OfflineBuilt.OwnNative)));

        var plugin = host.Engine.Plugins.Plugins.Single();
        var context = AssemblyLoadContext.GetLoadContext(host.Engine.Catalog.Find("native.answer")!.NodeType.Assembly)!;

        Assert.False(plugin.Unloadable);
        Assert.False(context.IsCollectible);
        var library = Assert.Single(plugin.OwnNativeLibraries!);
        Assert.Contains($"lib{PluginSources.OwnNativeLibrary}.so", library);
        Assert.Contains("Tests.OwnNative.dll", library);
    }

    [Fact]
    public void Built_in_pack_takes_skiasharp_from_the_host_and_names_the_native_library_the_host_lacks()
    {
        // The pack ships SkiaSharp with libSkiaSharp and ONNX Runtime with libonnxruntime; this host carries only SkiaSharp.
        using var host = new TestHost(unloadPluginBuilds: true, RepositoryRoot.Combine("plugins"));
        var save = host.Engine.Catalog.Find("image.save") ?? throw new InvalidOperationException("the built-in pack did not load");
        var plugin = host.Engine.Plugins.Plugins.Single(p => p.Nodes.Contains(save));
        var context = AssemblyLoadContext.GetLoadContext(save.NodeType.Assembly)!;

        var skia = context.LoadFromAssemblyName(new System.Reflection.AssemblyName("SkiaSharp"));

        Assert.Same(AssemblyLoadContext.Default, AssemblyLoadContext.GetLoadContext(skia));
        Assert.DoesNotContain(plugin.OwnNativeLibraries!, l => l.Contains("SkiaSharp", StringComparison.Ordinal));
        var onnx = Assert.Single(plugin.OwnNativeLibraries!, l => l.Contains("onnxruntime", StringComparison.Ordinal));
        Assert.Contains("Microsoft.ML.OnnxRuntime.dll", onnx);
        Assert.False(context.IsCollectible);
    }

    private static string Greeting(int delayMs) => $$"""
        flowdiffusion: 1
        name: greet
        nodes:
          greet: { node: reload.greeting, with: { delay_ms: {{delayMs}} } }
        """;

    // Separate, not inlined: no local of the caller may hold the old build's types.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference LoadContextOf(FlowDiffusionEngine engine, string nodeId)
    {
        var context = AssemblyLoadContext.GetLoadContext(engine.Catalog.Find(nodeId)!.NodeType.Assembly)!;
        Assert.True(context.IsCollectible, $"{nodeId}'s plugin loaded into a context that is not collectible");
        return new WeakReference(context);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InFlightRun StartInFlight(TestHost host)
    {
        var run = host.Start(Greeting(delayMs: 4000));
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var completion = Task.Run(async () =>
        {
            await foreach (var e in run.ReadEventsAsync())
                if (e is NodeStarted { NodeId: "greet" }) started.TrySetResult();
            var result = TestHost.Completed(await run.Completion);
            return (string)result.Output("greet", "text")!;
        });
        return new InFlightRun(started.Task, completion);
    }

    private static async Task<bool> CollectedAsync(WeakReference context, int rounds = GcRounds)
    {
        for (var i = 0; i < rounds; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            if (!context.IsAlive) return true;
            await Task.Delay(100);
        }
        return false;
    }

    private sealed record InFlightRun(Task Started, Task<string> Completion);
}
