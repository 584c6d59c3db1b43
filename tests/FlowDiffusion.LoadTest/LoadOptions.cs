using System.Globalization;

namespace FlowDiffusion.LoadTest;

/// <summary>The tool's bounded settings: counts, steps, model and the overall time limit.</summary>
internal sealed record LoadOptions(int Runs, int Clients, int CrashRuns, int Steps, string Model, TimeSpan Timeout)
{
    /// <summary>Reads <c>--runs N --clients N --crash-runs N --steps N --model PATH --timeout SECONDS</c>; bounds every count.</summary>
    public static LoadOptions Parse(string[] args)
    {
        var options = new LoadOptions(200, 20, 40, 4, "models/tiny-sd", TimeSpan.FromMinutes(20));
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = args[i + 1];
            int Count(int max) => Math.Clamp(int.Parse(value, CultureInfo.InvariantCulture), 1, max);
            options = args[i] switch
            {
                "--runs" => options with { Runs = Count(1000) },
                "--clients" => options with { Clients = Count(64) },
                "--crash-runs" => options with { CrashRuns = Count(500) },
                "--steps" => options with { Steps = Count(50) },
                "--model" => options with { Model = value },
                "--timeout" => options with { Timeout = TimeSpan.FromSeconds(Count(3600)) },
                _ => throw new ArgumentException($"unknown option {args[i]}; expected --runs, --clients, --crash-runs, --steps, --model, --timeout"),
            };
        }
        return options;
    }
}
