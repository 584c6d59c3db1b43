using System.Text.Json.Nodes;

namespace FlowDiffusion.Cli.Bench;

/// <summary>
/// The fields every bench report opens and closes with — what was run (model, layout, workflow, size, steps, sampler
/// settings) and on what (cores, ONNX Runtime version, the load average around the run) — so the full report and the
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

    public static JsonObject AddMachine(JsonObject report, string loadBefore, string loadAfter)
    {
        report["cores"] = Environment.ProcessorCount;
        report["onnxruntime"] = typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version?.ToString(3);
        report["load_average_before"] = loadBefore;
        report["load_average_after"] = loadAfter;
        return report;
    }
}
