using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Cli.Bench;

/// <summary>
/// The report of <c>bench --cold-only</c>: one cold engine run in a fresh process, with the field names of the full
/// report where they mean the same (<c>engine_cold_s</c>, <c>unet_step_s</c>, <c>vae_decode_s</c>,
/// <c>peak_rss_bytes</c>, <c>weights_bytes</c>, …). The warm, floor and second-start figures are absent, not zero.
/// </summary>
internal static class ColdReport
{
    public static JsonObject Create(BenchSettings settings, string layout, string precision, double? generateSeconds, JsonObject start, string loadBefore, string loadAfter)
    {
        var cold = StageTimes.FromJson(start["cold"]!);
        var peak = (long)start["peak_rss_bytes"]!;
        var weights = settings.WeightsBytes();
        var report = ReportFields.Run(settings, layout, precision);
        ReportFields.AddRuntime(report);
        report["runs"] = "cold only";
        report["engine_cold_s"] = cold.Total;
        report["load_s"] = cold.Load;
        report["encode_s"] = cold.Encode;
        report["unet_step_s"] = cold.Step;
        // The first step of a cold run pays the weights' page faults; the later ones are the steady step time.
        report["unet_first_step_s"] = cold.StepTimes.Count > 0 ? cold.StepTimes[0] : null;
        report["unet_later_step_s"] = cold.StepTimes.Count > 1 ? cold.StepTimes.Skip(1).Average() : null;
        report["vae_decode_s"] = cold.Decode;
        report["vae_encode_s"] = settings.IsImg2Img ? cold.VaeEncode : null;
        report["to_first_step_s"] = (double?)start["to_first_step_s"];
        report["arena_releases"] = (int)start["arena_releases"]!;
        report["peak_rss_bytes"] = peak;
        report["engine_peak_rss_bytes"] = peak;
        report["engine_peak_rss_anon_bytes"] = start["peak_rss_anon_bytes"]?.DeepClone();
        report["engine_peak_rss_file_bytes"] = start["peak_rss_file_bytes"]?.DeepClone();
        report["engine_peak_rss_anon_at_s"] = start["peak_rss_anon_at_s"]?.DeepClone();
        report["weights_bytes"] = weights;
        report["peak_rss_over_weights"] = peak / (double)weights;
        report["generate_s"] = generateSeconds;
        report["engine"] = new JsonObject { ["cold"] = start["cold"]!.DeepClone(), ["peak_rss_bytes"] = peak };
        return ReportFields.AddMachine(report, loadBefore, loadAfter);
    }

    public static string Format(JsonObject report)
    {
        var cold = StageTimes.FromJson(report["engine"]!["cold"]!);
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{report["workflow"]}: {report["layout"]} {report["precision"]}, {report["size"]}×{report["size"]}, {report["steps_run"]} of {report["steps"]} steps ({report["scheduler"]}, cfg {report["cfg"]}), one cold run, {report["model"]}");
        text.AppendLine(CultureInfo.InvariantCulture, $"weights {Gib((long)report["weights_bytes"]!)}; {report["cores"]} cores; ONNX Runtime {report["onnxruntime"]}; load average {report["load_average_before"]} → {report["load_average_after"]}");
        text.AppendLine(CultureInfo.InvariantCulture, $"{ReportFields.RuntimeLine(report)}; {report["arena_releases"]} model runs released");
        Row(text, "load", cold.Load);
        Row(text, "encode", cold.Encode);
        if (report["mode"]?.GetValue<string>() == BenchSettings.Img2Img) Row(text, "vae encode", cold.VaeEncode);
        for (var i = 0; i < cold.StepTimes.Count; i++) Row(text, $"unet step {i + 1}", cold.StepTimes[i]);
        Row(text, "vae decode", cold.Decode);
        Row(text, "save png", cold.Save);
        Row(text, "total", cold.Total);
        text.AppendLine(CultureInfo.InvariantCulture, $"peak RSS {Gib((long)report["peak_rss_bytes"]!)} ({(double)report["peak_rss_over_weights"]!:F2} × the weights){BenchTable.ResidentParts(report)}");
        return text.ToString();
    }

    private static void Row(StringBuilder text, string name, double seconds) => text.AppendLine(CultureInfo.InvariantCulture, $"{name,-15}{seconds,12:F3} s");

    private static string Gib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F2} GiB");
}
