using System.Text.Json.Nodes;
using FlowDiffusion.Diffusion.Onnx;

namespace FlowDiffusion.Cli.Bench;

/// <summary>
/// The fields every bench report opens and closes with — what was run (model, layout, workflow, size, steps, sampler
/// settings) and on what (cores, ONNX Runtime version and how its sessions ran, the load average around the run) — so the full report and the
/// cold-only one name them alike.
/// </summary>
internal static class ReportFields
{
    public static JsonObject Run(BenchSettings settings, string layout, string precision) => new()
    {
        ["model"] = settings.Model,
        ["layout"] = layout,
        ["precision"] = precision,
        ["mode"] = settings.Mode,
        ["workflow"] = settings.Workflow,
        ["size"] = settings.Size,
        ["steps"] = settings.Steps,
        ["steps_run"] = settings.StepsRun,
        ["strength"] = settings.IsImg2Img ? settings.Strength : null,
        ["scheduler"] = BenchSettings.Scheduler,
        ["cfg"] = BenchSettings.Cfg,
    };

    /// <summary>How the engine's sessions ran: their threads and pool, whether CPU runs took turns, when samplers released the UNet's arena, glibc's mmap threshold.</summary>
    public static JsonObject AddRuntime(JsonObject report)
    {
        report["intra_op_threads"] = OnnxSessionOptions.Cpu.Threads;
        report["intra_op_pool"] = OnnxSessionOptions.Cpu.SharesThreadPool ? "shared" : "per session";
        report["cpu_runs"] = OnnxSessionOptions.Cpu.TakesTurns ? "take turns" : "parallel";
        report["arena_release"] = OnnxArenaRelease.Mode.ToString().ToLowerInvariant();
        report["mmap_threshold"] = NativeHeap.Threshold;
        return report;
    }

    /// <summary>The line of the table that names <see cref="AddRuntime"/>'s fields.</summary>
    public static string RuntimeLine(JsonObject report) =>
        $"threads: {report["intra_op_threads"]} a session, pool {report["intra_op_pool"]}, CPU runs {report["cpu_runs"]}, arena release {report["arena_release"]}, mmap threshold {report["mmap_threshold"]}";

    public static JsonObject AddMachine(JsonObject report, string loadBefore, string loadAfter)
    {
        report["cores"] = Environment.ProcessorCount;
        report["onnxruntime"] = typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version?.ToString(3);
        report["load_average_before"] = loadBefore;
        report["load_average_after"] = loadAfter;
        return report;
    }
}
