using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Benchmarks;

/// <summary>
/// End-to-end txt2img (or img2img) through the engine and the SD node pack (loaded as a plugin), against the time spent inside
/// ONNX Runtime's Run (the <c>onnx_run_seconds</c> metric the pack reports): everything else is our overhead.
/// Not a BenchmarkDotNet class: one run is seconds long and loads sessions, so it is timed directly.
/// Usage: dotnet run -c Release --project tests/FlowDiffusion.Benchmarks -- txt2img|img2img [SIZE] [STEPS] [RUNS] [MODEL] [WARMUPS]
/// (img2img: workflows/img2img.yaml at its defaults, strength 0.75 of the landscape asset, so the VAE encoder runs too).
/// The environment variables <c>FLOWDIFFUSION_BENCH_PROVIDER</c> (cpu, cuda …) and <c>FLOWDIFFUSION_BENCH_PROVIDER_OPTIONS</c>
/// (model.load's provider_options, e.g. <c>cudnn_conv_algo_search=HEURISTIC</c>) set model.load's execution provider.
/// </summary>
/// <remarks>
/// The first warm-up run loads the sessions and JIT-compiles the pack; the next two let tiered compilation (which
/// re-compiles hot methods on a background thread, competing for the cores) settle, so the measured runs are what a
/// long-lived host (server, editor) sees. The cold first run and the warm-ups are printed too. The pack is loaded from this program's own plugins/ folder (a copy of the pack built in
/// the same configuration), and a pack compiled without optimisations is refused.
/// </remarks>
internal static class Txt2ImgPipelineBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var workflow = args[0];
        var size = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 512;
        var steps = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;
        var runs = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 3;
        var model = args.Length > 4 ? args[4] : "models/tiny-sd";
        var warmups = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 3;
        var root = RepoRoot();
        var plugins = Path.Combine(AppContext.BaseDirectory, "plugins");
        using var services = new ServiceCollection().BuildServiceProvider();
        using var engine = new FlowDiffusionEngine(Options.Create(new FlowDiffusionOptions { PluginFolders = [plugins] }), services);
        if (PackIsUnoptimised() is { } debugPack)
        {
            Console.Error.WriteLine($"{debugPack} was compiled without optimisations; build with -c Release");
            return 1;
        }
        using var self = Process.GetCurrentProcess();
        var loaded = self.WorkingSet64;
        var output = Directory.CreateTempSubdirectory("fd-bench-").FullName;
        try
        {
            Console.WriteLine($"{workflow} {size}×{size}, {steps} steps (euler, cfg 7.5), {model}; {runs} measured runs after {warmups} warm-up(s)");
            Console.WriteLine($"load average before: {LoadAverage()}; {Environment.ProcessorCount} cores");
            Console.WriteLine("run  end-to-end   in ONNX Runtime   outside ORT   share outside   allocated   GCs (0/1/2)   GC pause");
            var shares = new List<double>();
            var measuredSeconds = 0.0;
            var perNode = new Dictionary<string, (double Wall, double Onnx)>(StringComparer.Ordinal);
            for (var i = 0; i < warmups + runs; i++)
            {
                var inputs = new Dictionary<string, object?>
                {
                    ["model"] = model, ["width"] = size.ToString(CultureInfo.InvariantCulture), ["height"] = size.ToString(CultureInfo.InvariantCulture),
                    ["steps"] = steps.ToString(CultureInfo.InvariantCulture), ["seed"] = (100 + i).ToString(CultureInfo.InvariantCulture),
                };
                var file = Path.Combine(root, "workflows", workflow + ".yaml");
                var validation = WithProvider(File.ReadAllText(file)) is { } yaml ? engine.Parse(yaml, file, inputs, anyInputPath: true) : engine.Load(file, inputs, anyInputPath: true);
                var plan = validation.Plan
                    ?? throw new InvalidOperationException($"workflows/{workflow}.yaml does not validate: {string.Join("; ", validation.Diagnostics)}");
                engine.Cache.Clear();
                var allocated = GC.GetTotalAllocatedBytes(precise: true);
                var pause = GC.GetTotalPauseDuration();
                int[] collections = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
                var clock = Stopwatch.StartNew();
                // Events are collected into the run's unbounded channel and read only after it ends, so no reader competes for the cores.
                // The model is named on the command line, anywhere: this tool reads what its user points it at.
                var run = engine.Start(plan, new RunOptions { OutputDirectory = output, WorkingDirectory = root, AnyInputPath = true }, collectEvents: true);
                var result = await run.Completion;
                var total = clock.Elapsed.TotalSeconds;
                allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
                pause = GC.GetTotalPauseDuration() - pause;
                var gcs = $"{GC.CollectionCount(0) - collections[0]}/{GC.CollectionCount(1) - collections[1]}/{GC.CollectionCount(2) - collections[2]}";
                if (result.Status != RunStatus.Completed) throw new InvalidOperationException(result.Error);
                var onnx = result.Metrics.GetValueOrDefault("onnx_run_seconds");
                var nodeOnnx = new Dictionary<string, double>(StringComparer.Ordinal);
                await foreach (var e in run.ReadEventsAsync())
                    if (e is NodeMetric { Name: "onnx_run_seconds" } metric)
                        nodeOnnx[metric.NodeId] = nodeOnnx.GetValueOrDefault(metric.NodeId) + metric.Value;
                var label = i < warmups ? (i == 0 ? "cold" : "warm") : (i - warmups + 1).ToString(CultureInfo.InvariantCulture);
                Console.WriteLine($"{label,4}  {total,9:F3} s  {onnx,12:F3} s  {total - onnx,10:F3} s  {(total - onnx) / total,12:P1}  {allocated / 1048576.0,8:F1} MiB  {gcs,12}  {pause.TotalMilliseconds,6:F1} ms");
                if (i < warmups) continue;
                measuredSeconds += total;
                shares.Add((total - onnx) / total);
                foreach (var node in result.Nodes)
                {
                    var sum = perNode.GetValueOrDefault(node.NodeId);
                    perNode[node.NodeId] = (sum.Wall + node.Duration.TotalSeconds, sum.Onnx + nodeOnnx.GetValueOrDefault(node.NodeId));
                }
            }
            Console.WriteLine($"load average after: {LoadAverage()}");
            Console.WriteLine("per node, mean of the measured runs: wall / inside ORT / outside");
            foreach (var (node, (wall, onnx)) in perNode.OrderByDescending(p => p.Value.Wall))
                Console.WriteLine($"  {node,-16} {wall / runs * 1000,8:F1} ms {onnx / runs * 1000,8:F1} ms {(wall - onnx) / runs * 1000,8:F1} ms");
            var endToEnd = perNode.Values.Sum(v => v.Wall) > 0 ? measuredSeconds / runs : double.NaN;
            var stepSeconds = perNode.TryGetValue("sample", out var sample) ? sample.Wall / runs / steps : double.NaN;
            Console.WriteLine($"provider {Environment.GetEnvironmentVariable("FLOWDIFFUSION_BENCH_PROVIDER") ?? "cpu"}: step time {stepSeconds * 1000:F1} ms (sample node wall / steps), "
                + $"{1 / endToEnd:F3} images/s ({endToEnd:F3} s per image end to end, mean of the measured runs)");
            var provider = Environment.GetEnvironmentVariable("FLOWDIFFUSION_BENCH_PROVIDER") is { Length: > 0 } named ? named : "cpu";
            var (alone, note) = DeviceResidentUNet.Measure(Path.GetFullPath(model, root), size, provider, Environment.GetEnvironmentVariable("FLOWDIFFUSION_BENCH_PROVIDER_OPTIONS"), Math.Max(5, steps));
            Console.WriteLine(alone is { } seconds
                ? $"UNet alone, inputs and output kept on the device ({note}): {seconds * 1000:F1} ms per call; the engine's step takes {stepSeconds / seconds:F3} × that"
                : $"UNet alone on the device: not measured, {note}");
            self.Refresh();
            var sorted = shares.Order().ToList();
            Console.WriteLine($"share outside ONNX Runtime: median {sorted[sorted.Count / 2]:P1}, best {sorted[0]:P1}, worst {sorted[^1]:P1}");
            Console.WriteLine($"working set with the engine and the pack loaded, before any run: {loaded / 1048576.0:F0} MiB; peak working set: {self.PeakWorkingSet64 / 1048576.0:F0} MiB; "
                + $"managed heap now: {GC.GetTotalMemory(false) / 1048576.0:F0} MiB");
            return 0;
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    // The workflow with model.load's provider set from FLOWDIFFUSION_BENCH_PROVIDER(_OPTIONS), or null to run it as written.
    private static string? WithProvider(string yaml)
    {
        var provider = Environment.GetEnvironmentVariable("FLOWDIFFUSION_BENCH_PROVIDER");
        var options = Environment.GetEnvironmentVariable("FLOWDIFFUSION_BENCH_PROVIDER_OPTIONS");
        if (string.IsNullOrEmpty(provider) && string.IsNullOrEmpty(options)) return null;
        const string load = "    node: model.load\n    with:\n";
        if (!yaml.Contains(load, StringComparison.Ordinal)) throw new InvalidOperationException("the workflow's model.load node has no with: block to set the provider in");
        var settings = (string.IsNullOrEmpty(provider) ? "" : $"      provider: {provider}\n")
            + (string.IsNullOrEmpty(options) ? "" : $"      provider_options: \"{options}\"\n");
        return yaml.Replace(load, load + settings, StringComparison.Ordinal);
    }

    // The SD pack's assembly when it was built without optimisations (Debug), else null.
    private static string? PackIsUnoptimised()
    {
        var pack = AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a => a.GetName().Name == "FlowDiffusion.Nodes.StableDiffusion")
            ?? throw new InvalidOperationException("the SD node pack was not loaded from " + Path.Combine(AppContext.BaseDirectory, "plugins"));
        return pack.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled == true ? pack.Location : null;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FlowDiffusion.sln"))) return dir.FullName;
        throw new InvalidOperationException("run from inside the repository");
    }
}
