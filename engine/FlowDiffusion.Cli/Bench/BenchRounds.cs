using System.Text.Json.Nodes;

namespace FlowDiffusion.Cli.Bench;

/// <summary>
/// Engine and floor phases run in turns (engine, floor, engine, floor, …), each in a new process, so drift of the machine
/// (other processes, frequency, page cache) lands on both alike. The report takes its figures from the median round: the
/// one whose engine / floor ratio is the median (the lower one of the middle two for an even count), so every figure it
/// gives comes from one engine and one floor process that ran side by side.
/// </summary>
internal sealed record BenchRounds(IReadOnlyList<(JsonObject Engine, JsonObject Floor)> Rounds)
{
    /// <summary>The most rounds a bench runs.</summary>
    public const int Most = 20;

    /// <summary>Each round's warm engine total over its warm floor total, in the order they ran.</summary>
    public IReadOnlyList<double> Ratios => [.. Rounds.Select(r => Total(r.Engine) / Total(r.Floor))];

    /// <summary>The index of the median round.</summary>
    public int MedianIndex
    {
        get
        {
            var ratios = Ratios;
            var order = Enumerable.Range(0, ratios.Count).OrderBy(i => ratios[i]).ToArray();
            return order[(order.Length - 1) / 2];
        }
    }

    /// <summary>The median round's engine and floor phases.</summary>
    public (JsonObject Engine, JsonObject Floor) Median => Rounds[MedianIndex];

    /// <summary>Every round's warm figures, for the report.</summary>
    public JsonArray ToJson()
    {
        var ratios = Ratios;
        return new JsonArray(Rounds.Select((r, i) => (JsonNode)new JsonObject
        {
            ["engine_s"] = Total(r.Engine),
            ["floor_s"] = Total(r.Floor),
            ["engine_over_floor"] = ratios[i],
            ["unet_step_s"] = StageTimes.FromJson(r.Engine["warm"]!).Step,
            ["floor_unet_step_s"] = StageTimes.FromJson(r.Floor["warm"]!).Step,
            ["matmul_flops_per_s"] = (double)r.Floor["matmul_flops_per_s"]!,
            ["matmul_sustained_flops_per_s"] = (double)r.Floor["matmul_sustained_flops_per_s"]!,
        }).ToArray());
    }

    private static double Total(JsonObject phase) => StageTimes.FromJson(phase["warm"]!).Total;
}
