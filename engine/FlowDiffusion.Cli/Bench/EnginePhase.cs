using System.Diagnostics;
using System.Globalization;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using Microsoft.Extensions.Hosting;

namespace FlowDiffusion.Cli.Bench;

/// <summary>
/// The saved workflow of the bench's mode (workflows/txt2img.yaml or img2img.yaml) through the engine and the SD node
/// pack, as <c>flowdiffusion run</c> runs it: a cold run (sessions created, code compiled), a warm one (sessions
/// cached, the output cache cleared so every node runs), then a re-run with the next seed and the cache kept, which
/// shows what a new seed re-executes.
/// </summary>
internal static class EnginePhase
{
    public static async Task<(EngineRun Cold, EngineRun Warm, EngineRun NewSeed)> RunAsync(IHost host, BenchSettings settings, CancellationToken cancellationToken)
    {
        var engine = host.Engine();
        var workflow = Workflow(host, settings);
        var output = Directory.CreateTempSubdirectory("flowdiffusion-bench-").FullName;
        try
        {
            var cold = await RunOnceAsync(engine, host, workflow, settings, output, cancellationToken);
            engine.Cache.Clear();
            var warm = await RunOnceAsync(engine, host, workflow, settings, output, cancellationToken);
            var newSeed = await RunOnceAsync(engine, host, workflow, settings with { Seed = settings.Seed + 1 }, output, cancellationToken);
            return (cold, warm, newSeed);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    /// <summary>One cold run in a fresh process: what a second start of the same model costs up to its first step.</summary>
    public static async Task<EngineRun> RunColdAsync(IHost host, BenchSettings settings, CancellationToken cancellationToken)
    {
        var engine = host.Engine();
        var workflow = Workflow(host, settings);
        var output = Directory.CreateTempSubdirectory("flowdiffusion-bench-").FullName;
        try
        {
            return await RunOnceAsync(engine, host, workflow, settings, output, cancellationToken);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    private static string Workflow(IHost host, BenchSettings settings)
    {
        var workflow = host.WorkflowFile(settings.Workflow);
        return File.Exists(workflow) ? workflow : throw new UsageException($"bench runs the saved workflow {settings.Workflow}, which is not in {host.Engine().Options.WorkflowsFolder}.");
    }

    private static async Task<EngineRun> RunOnceAsync(FlowDiffusionEngine engine, IHost host, string workflow, BenchSettings settings, string output, CancellationToken cancellationToken)
    {
        var home = host.Home()?.Folder ?? Environment.CurrentDirectory;
        var inputs = new Dictionary<string, object?>
        {
            ["model"] = settings.Model,
            ["prompt"] = BenchSettings.Prompt,
            ["width"] = settings.Size.ToString(CultureInfo.InvariantCulture),
            ["height"] = settings.Size.ToString(CultureInfo.InvariantCulture),
            ["steps"] = settings.Steps.ToString(CultureInfo.InvariantCulture),
            ["seed"] = settings.Seed.ToString(CultureInfo.InvariantCulture),
            ["cfg"] = BenchSettings.Cfg.ToString(CultureInfo.InvariantCulture),
            ["scheduler"] = BenchSettings.Scheduler,
        };
        if (settings.IsImg2Img)
        {
            inputs["image"] = Path.Combine(home, BenchSettings.Image);
            inputs["strength"] = settings.Strength.ToString(CultureInfo.InvariantCulture);
        }

        var validation = engine.Load(workflow, inputs, anyInputPath: true);
        var plan = validation.Plan ?? throw new InvalidOperationException($"{workflow} does not validate: {string.Join("; ", validation.Diagnostics)}");
        var options = new RunOptions
        {
            OutputDirectory = output,
            WorkingDirectory = home,
            AnyInputPath = true,
        };
        var clock = Stopwatch.StartNew();
        // Events are collected in the run's channel and read after it ends, so no reader competes for the cores.
        var run = engine.Start(plan, options, collectEvents: true, cancellationToken: cancellationToken);
        var result = await run.Completion;
        var total = clock.Elapsed.TotalSeconds;
        if (result.Status != RunStatus.Completed) throw new InvalidOperationException($"the engine's {settings.Mode} run {result.Status.ToString().ToLowerInvariant()}: {result.Error}");

        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var started = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var finished = new Dictionary<string, (DateTimeOffset Time, TimeSpan Duration)>(StringComparer.Ordinal);
        var steps = new List<DateTimeOffset>();
        var cached = new List<string>();
        string? sampleNode = null;
        await foreach (var e in run.ReadEventsAsync(CancellationToken.None))
        {
            switch (e)
            {
                case NodeStarted s:
                    types[s.NodeId] = s.NodeType;
                    started[s.NodeId] = s.Time;
                    if (s.NodeType == "diffusion.sample") sampleNode = s.NodeId;
                    break;
                case NodeCached c:
                    cached.Add(c.NodeType);
                    break;
                case NodeFinished f:
                    finished[f.NodeId] = (f.Time, f.Duration);
                    break;
                case NodeProgressed { Progress.Step: > 0 } p when p.NodeId == sampleNode:
                    steps.Add(p.Time);
                    break;
            }
        }

        double Sum(string type) => types.Where(t => t.Value == type && finished.ContainsKey(t.Key)).Sum(t => finished[t.Key].Duration.TotalSeconds);
        // The two prompt encodes run concurrently: their span, not their sum.
        var encodes = types.Where(t => t.Value == "clip.encode" && finished.ContainsKey(t.Key)).Select(t => t.Key).ToList();
        var encode = encodes.Count == 0 ? 0 : (encodes.Max(n => finished[n].Time) - encodes.Min(n => started[n])).TotalSeconds;
        var stepTimes = new List<double>();
        DateTimeOffset? firstStep = null;
        if (sampleNode is not null)
        {
            var previous = started[sampleNode];
            firstStep = previous;
            foreach (var time in steps)
            {
                stepTimes.Add((time - previous).TotalSeconds);
                previous = time;
            }
        }

        var times = new StageTimes(total, Sum("model.load"), encode, stepTimes, Sum("vae.decode"), Sum("image.save"), Sum("vae.encode"));
        return new EngineRun(times, firstStep, encodes.Count, cached.Count(t => t == "clip.encode"), (int)result.Metrics.GetValueOrDefault(OnnxArenaRelease.Metric));
    }
}

/// <summary>One engine run: its stage times, when its first denoising step began, and how many prompt encodes ran or came from the cache.</summary>
internal sealed record EngineRun(StageTimes Times, DateTimeOffset? FirstStepStart, int TextEncodesRun, int TextEncodesCached, int ArenaReleases);
