using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Cli.Bench;

/// <summary>The bench report as a table for people.</summary>
internal static class BenchTable
{
    public static string Format(JsonObject report)
    {
        var columns = new[] { ("engine", "cold"), ("engine", "warm"), ("floor", "cold"), ("floor", "warm") }
            .Select(c => (Label: $"{c.Item1} {c.Item2}", Times: StageTimes.FromJson(report[c.Item1]![c.Item2]!))).ToArray();
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{report["mode"]}: {report["layout"]} {report["precision"]}, {report["size"]}×{report["size"]}, {report["steps_run"]} of {report["steps"]} steps ({report["scheduler"]}, cfg {report["cfg"]}), {report["model"]}");
        text.AppendLine(CultureInfo.InvariantCulture, $"weights {Gib((long)report["weights_bytes"]!)}; {report["cores"]} cores; ONNX Runtime {report["onnxruntime"]}; load average {report["load_average_before"]} → {report["load_average_after"]}");
        text.Append("stage          ");
        foreach (var (label, _) in columns) text.Append(CultureInfo.InvariantCulture, $"{label,14}");
        text.AppendLine();
        Row(text, "load", columns, t => t.Load);
        Row(text, "encode", columns, t => t.Encode);
        if (report["mode"]?.GetValue<string>() == BenchSettings.Img2Img) Row(text, "vae encode", columns, t => t.VaeEncode);
        Row(text, "unet step", columns, t => t.Step);
        Row(text, "sample", columns, t => t.Sample);
        Row(text, "vae decode", columns, t => t.Decode);
        Row(text, "save png", columns, t => t.Save);
        Row(text, "total", columns, t => t.Total);
        text.AppendLine(CultureInfo.InvariantCulture, $"peak RSS: engine {Gib((long)report["engine"]!["peak_rss_bytes"]!)}{ResidentParts(report)}, floor {Gib((long)report["floor"]!["peak_rss_bytes"]!)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"engine / floor (warm): {(double)report["engine_over_floor"]!:F3}");
        text.AppendLine(ReportFields.RuntimeLine(report));
        var unetRate = report["unet_step_flops_per_s"] is { } rate ? Gflops((double)rate) : "not counted";
        text.AppendLine(CultureInfo.InvariantCulture, $"UNet step {unetRate}; 2048² MatMul {Gflops((double)report["matmul_flops_per_s"]!)} (fastest of {report["matmul_runs"]} runs), {Gflops((double)report["matmul_sustained_flops_per_s"]!)} sustained");
        if (report["rounds"] is JsonArray { Count: > 1 } rounds)
        {
            var ratios = string.Join(", ", rounds.Select(r => ((double)r!["engine_over_floor"]!).ToString("F3", CultureInfo.InvariantCulture)));
            text.AppendLine(CultureInfo.InvariantCulture, $"rounds, in turn: {ratios}; the columns above are round {(int)report["median_round"]! + 1}, the median");
        }
        text.AppendLine("targets (issue 17):");
        foreach (var (name, target) in report["targets"]!.AsObject())
        {
            var limit = target!["at_most"] is { } most ? $"≤ {(double)most!}" : $"≥ {(double)target["at_least"]!}";
            var value = target["value"] is { } v ? ((double)v).ToString("G4", CultureInfo.InvariantCulture) : "not measured";
            var met = target["met"] is { } m ? ((bool)m ? "met" : "missed") : "—";
            text.AppendLine(CultureInfo.InvariantCulture, $"  {name,-30} {value,12} {limit,8}  {met}");
        }

        return text.ToString();
    }

    private static void Row(StringBuilder text, string name, (string Label, StageTimes Times)[] columns, Func<StageTimes, double> value)
    {
        text.Append(CultureInfo.InvariantCulture, $"{name,-15}");
        foreach (var (_, times) in columns) text.Append(CultureInfo.InvariantCulture, $"{value(times),12:F3} s");
        text.AppendLine();
    }

    private static string Gflops(double flopsPerSecond) => string.Create(CultureInfo.InvariantCulture, $"{flopsPerSecond / 1e9:F1} GFLOP/s");

    /// <summary>" (anonymous X at most, file-backed Y at most)" for the engine's run, or nothing where they were not sampled.</summary>
    public static string ResidentParts(JsonObject report) =>
        report["engine_peak_rss_anon_bytes"] is { } anon && report["engine_peak_rss_file_bytes"] is { } file
            ? $" (anonymous {Gib((long)anon)} at most, file-backed {Gib((long)file)} at most)"
            : "";

    private static string Gib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F2} GiB");
}
