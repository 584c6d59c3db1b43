using System.Diagnostics;
using System.Globalization;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Benchmarks;

/// <summary>
/// End-to-end txt2img through the engine and the SD node pack (loaded as a plugin), against the time spent inside
/// ONNX Runtime's Run (the <c>onnx_run_seconds</c> metric the pack reports): everything else is our overhead.
/// Not a BenchmarkDotNet class: one run is seconds long and loads sessions, so it is timed directly.
/// Usage: dotnet run -c Release --project tests/FlowDiffusion.Benchmarks -- txt2img [SIZE] [STEPS] [RUNS] [MODEL]
/// </summary>
internal static class Txt2ImgPipelineBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var size = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 512;
        var steps = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;
        var runs = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 3;
        var model = args.Length > 4 ? args[4] : "models/tiny-sd";
        var root = RepoRoot();
        using var services = new ServiceCollection().BuildServiceProvider();
        using var engine = new FlowDiffusionEngine(Options.Create(new FlowDiffusionOptions { PluginFolders = [Path.Combine(root, "plugins")] }), services);
        var output = Directory.CreateTempSubdirectory("fd-bench-").FullName;
        try
        {
            Console.WriteLine($"txt2img {size}×{size}, {steps} steps (euler, cfg 7.5), {model}; {runs} measured runs after one warm-up");
            Console.WriteLine("run  end-to-end   in ONNX Runtime   outside ORT   share outside");
            var outside = new List<double>();
            IReadOnlyList<NodeTiming> lastNodes = [];
            for (var i = 0; i <= runs; i++)
            {
                var inputs = new Dictionary<string, object?>
                {
                    ["model"] = model, ["width"] = size.ToString(CultureInfo.InvariantCulture), ["height"] = size.ToString(CultureInfo.InvariantCulture),
                    ["steps"] = steps.ToString(CultureInfo.InvariantCulture), ["seed"] = (100 + i).ToString(CultureInfo.InvariantCulture),
                };
                var plan = engine.Load(Path.Combine(root, "workflows", "txt2img.yaml"), inputs).Plan
                    ?? throw new InvalidOperationException("workflows/txt2img.yaml does not validate");
                engine.Cache.Clear();
                var clock = Stopwatch.StartNew();
                var result = await engine.Start(plan, new RunOptions { OutputDirectory = output, WorkingDirectory = root }, collectEvents: false).Completion;
                var total = clock.Elapsed.TotalSeconds;
                if (result.Status != RunStatus.Completed) throw new InvalidOperationException(result.Error);
                var onnx = result.Metrics.GetValueOrDefault("onnx_run_seconds");
                lastNodes = result.Nodes;
                if (i == 0) continue;
                outside.Add((total - onnx) / total);
                Console.WriteLine($"{i,3}  {total,9:F3} s  {onnx,12:F3} s  {total - onnx,10:F3} s  {(total - onnx) / total,12:P1}");
            }
            Console.WriteLine("node times of the last run: " + string.Join(", ", lastNodes.Where(n => n.Duration.TotalMilliseconds >= 1).Select(n => $"{n.NodeId} {n.Duration.TotalMilliseconds:F0} ms")));
            using var self = Process.GetCurrentProcess();
            Console.WriteLine($"median share outside ONNX Runtime: {outside.Order().ElementAt(outside.Count / 2):P1}");
            Console.WriteLine($"peak working set: {self.PeakWorkingSet64 / 1048576.0:F0} MiB; managed heap now: {GC.GetTotalMemory(false) / 1048576.0:F0} MiB");
            return 0;
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FlowDiffusion.sln"))) return dir.FullName;
        throw new InvalidOperationException("run from inside the repository");
    }
}
