using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Checkpoints.Synthetic;
using FlowDiffusion.Cli.Bench;
using FlowDiffusion.Engine.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Cli.Commands;

/// <summary>
/// <c>flowdiffusion bench</c>: txt2img through the engine against the floor (the same work on ONNX Runtime alone), cold
/// and warm, with per-stage times, peak resident memory and the weights' size. Each phase runs in its own process, so
/// its peak memory and its cold start are its own. <c>--sd15</c> generates an SD 1.5-sized random-weight model on first use.
/// </summary>
internal static class BenchCommand
{
    private const string EnginePhaseName = "engine";
    private const string FloorPhaseName = "floor";

    public static Command Create()
    {
        var sd15 = new Option<bool>("--sd15") { Description = "Stable Diffusion 1.5's architecture with random weights, generated under the data folder (bench-models/) when missing (the default)." };
        var tiny = new Option<bool>("--tiny") { Description = "A few-MB model of the same structure (for testing the bench itself)." };
        var model = new Option<string?>("--model") { Description = "Benchmark this diffusers-ONNX model folder instead of a generated one.", HelpName = "DIR" };
        var fp16 = new Option<bool>("--fp16") { Description = "Generate and benchmark the fp16 export instead of fp32." };
        var size = new Option<int>("--size") { Description = "Image width and height in pixels (a multiple of 8).", DefaultValueFactory = _ => 512 };
        var steps = new Option<int>("--steps") { Description = "Denoising steps (Euler, CFG 7.5: one batch-2 UNet call per step).", DefaultValueFactory = _ => 4 };
        var seed = new Option<int>("--seed") { Description = "The noise seed.", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };
        var phase = new Option<string?>("--phase") { Hidden = true };
        phase.AcceptOnlyFromAmong(EnginePhaseName, FloorPhaseName);
        var command = new Command("bench", "Time txt2img through the engine against a minimal ONNX Runtime loop on the same model (the floor), cold and warm.")
        {
            sd15, tiny, model, fp16, size, steps, seed, json, phase,
        };
        CommandAction.Set(command, async (parse, cancellationToken) =>
        {
            var sizeValue = parse.GetValue(size);
            var stepsValue = parse.GetValue(steps);
            if (sizeValue < 8 || sizeValue % 8 != 0 || sizeValue > 2048) throw new UsageException($"--size {sizeValue}: expected a multiple of 8 from 8 to 2048.");
            if (stepsValue is < 1 or > 1000) throw new UsageException($"--steps {stepsValue}: expected 1 to 1000.");
            if (parse.GetValue(sd15) && parse.GetValue(tiny)) throw new UsageException("--sd15 and --tiny exclude each other.");
            if (parse.GetValue(model) is not null && (parse.GetValue(sd15) || parse.GetValue(tiny))) throw new UsageException("--model names the model; leave out --sd15 and --tiny.");

            if (parse.GetValue(phase) is { } which)
            {
                var settings = new BenchSettings(Path.GetFullPath(parse.GetValue(model) ?? throw new UsageException("--phase needs --model")), sizeValue, stepsValue, parse.GetValue(seed));
                var result = which == EnginePhaseName ? await RunEngineAsync(parse, settings, cancellationToken) : RunFloor(settings, cancellationToken);
                Console.WriteLine(result.ToJsonString());
                return ExitCodes.Ok;
            }

            var layoutName = parse.GetValue(tiny) ? "tiny" : "sd15";
            var precision = parse.GetValue(fp16) ? "fp16" : "fp32";
            double? generateSeconds = null;
            string folder;
            if (parse.GetValue(model) is { } given)
            {
                folder = Path.GetFullPath(given);
                if (!File.Exists(Path.Combine(folder, "unet", "model.onnx"))) throw new UsageException($"--model {given}: no unet/model.onnx there; expected a diffusers-ONNX model folder.");
                layoutName = "given";
            }
            else
            {
                folder = GeneratedFolder(parse, layoutName, precision);
                if (!Directory.Exists(folder))
                {
                    var layout = layoutName == "tiny" ? Sd1Layout.Tiny : Sd1Layout.Sd15;
                    await Console.Error.WriteLineAsync($"Generating {folder} ({layoutName}, {precision}, random weights); once, it is reused afterwards …");
                    var clock = Stopwatch.StartNew();
                    SyntheticModel.Generate(layout, folder, TokenizerFolder(parse), seed: 1, float16: precision == "fp16");
                    generateSeconds = clock.Elapsed.TotalSeconds;
                }
            }

            var bench = new BenchSettings(folder, sizeValue, stepsValue, parse.GetValue(seed));
            var loadBefore = PeakMemory.LoadAverage();
            var engine = await RunPhaseAsync(parse, bench, EnginePhaseName, cancellationToken);
            var floor = await RunPhaseAsync(parse, bench, FloorPhaseName, cancellationToken);
            var report = Report(bench, layoutName, precision, generateSeconds, engine, floor, loadBefore, PeakMemory.LoadAverage());
            Console.WriteLine(parse.GetValue(json) ? report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) : BenchTable.Format(report));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task<JsonObject> RunEngineAsync(ParseResult parse, BenchSettings settings, CancellationToken cancellationToken)
    {
        using var host = CliHost.Build(parse);
        var (cold, warm) = await EnginePhase.RunAsync(host, settings, cancellationToken);
        return new JsonObject { ["cold"] = cold.ToJson(), ["warm"] = warm.ToJson(), ["peak_rss_bytes"] = PeakMemory.Bytes() };
    }

    private static JsonObject RunFloor(BenchSettings settings, CancellationToken cancellationToken)
    {
        var (cold, warm) = FloorPhase.Run(settings, cancellationToken);
        return new JsonObject { ["cold"] = cold.ToJson(), ["warm"] = warm.ToJson(), ["peak_rss_bytes"] = PeakMemory.Bytes() };
    }

    // This program again, with the same global options, for one phase; its last stdout line is the phase's JSON.
    private static async Task<JsonObject> RunPhaseAsync(ParseResult parse, BenchSettings settings, string phase, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath ?? "dotnet") { RedirectStandardOutput = true };
        if (string.Equals(Path.GetFileNameWithoutExtension(start.FileName), "dotnet", StringComparison.OrdinalIgnoreCase))
        {
            start.ArgumentList.Add(typeof(BenchCommand).Assembly.Location);
        }

        string[] args =
        [
            "bench", "--phase", phase, "--model", settings.Model,
            "--size", settings.Size.ToString(CultureInfo.InvariantCulture),
            "--steps", settings.Steps.ToString(CultureInfo.InvariantCulture),
            "--seed", settings.Seed.ToString(CultureInfo.InvariantCulture),
        ];
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var folder in parse.GetValue(GlobalOptions.Plugins) ?? []) { start.ArgumentList.Add("--plugins"); start.ArgumentList.Add(folder); }
        foreach (var pair in parse.GetValue(GlobalOptions.Config) ?? []) { start.ArgumentList.Add("--config"); start.ArgumentList.Add(pair); }
        await Console.Error.WriteLineAsync($"bench: {phase} phase ({settings.Size}×{settings.Size}, {settings.Steps} steps, cold then warm) …");
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + start.FileName);
        var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        if (process.ExitCode != 0 || last is null || !last.StartsWith('{'))
        {
            throw new UsageException($"the bench's {phase} phase failed (exit {process.ExitCode}); its messages are above.");
        }

        return JsonNode.Parse(last)!.AsObject();
    }

    private static JsonObject Report(BenchSettings settings, string layout, string precision, double? generateSeconds, JsonObject engine, JsonObject floor, string loadBefore, string loadAfter)
    {
        var engineWarm = StageTimes.FromJson(engine["warm"]!);
        var floorWarm = StageTimes.FromJson(floor["warm"]!);
        return new JsonObject
        {
            ["model"] = settings.Model,
            ["layout"] = layout,
            ["precision"] = precision,
            ["size"] = settings.Size,
            ["steps"] = settings.Steps,
            ["scheduler"] = BenchSettings.Scheduler,
            ["cfg"] = BenchSettings.Cfg,
            ["engine_s"] = engineWarm.Total,
            ["floor_s"] = floorWarm.Total,
            ["engine_over_floor"] = engineWarm.Total / floorWarm.Total,
            ["engine_cold_s"] = StageTimes.FromJson(engine["cold"]!).Total,
            ["floor_cold_s"] = StageTimes.FromJson(floor["cold"]!).Total,
            ["unet_step_s"] = engineWarm.Step,
            ["floor_unet_step_s"] = floorWarm.Step,
            ["vae_decode_s"] = engineWarm.Decode,
            ["peak_rss_bytes"] = Math.Max((long)engine["peak_rss_bytes"]!, (long)floor["peak_rss_bytes"]!),
            ["weights_bytes"] = settings.WeightsBytes(),
            ["generate_s"] = generateSeconds,
            ["engine"] = engine,
            ["floor"] = floor,
            ["cores"] = Environment.ProcessorCount,
            ["onnxruntime"] = typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version?.ToString(3),
            ["load_average_before"] = loadBefore,
            ["load_average_after"] = loadAfter,
        };
    }

    private static string GeneratedFolder(ParseResult parse, string layout, string precision)
    {
        using var host = CliHost.Build(parse);
        var data = host.Services.GetRequiredService<IOptions<FlowDiffusionOptions>>().Value.DataFolder;
        return Path.Combine(Path.GetFullPath(data, host.Home()?.Folder ?? Environment.CurrentDirectory), "bench-models", $"{layout}-{precision}");
    }

    // Any CLIP-format tokenizer works: token ids only need to stay below the model's vocabulary (the shipped tiny one's do).
    private static string TokenizerFolder(ParseResult parse)
    {
        using var host = CliHost.Build(parse);
        var models = host.Services.GetRequiredService<IOptions<FlowDiffusionOptions>>().Value.ModelsFolder;
        var folder = Path.Combine(Path.GetFullPath(models, host.Home()?.Folder ?? Environment.CurrentDirectory), "tiny-sd", "tokenizer");
        return File.Exists(Path.Combine(folder, "vocab.json"))
            ? folder
            : throw new UsageException($"generating a model needs a tokenizer; {folder} is missing (run from the repository or an installation home).");
    }
}
