using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Checkpoints.Synthetic;
using FlowDiffusion.Cli.Bench;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Engine.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Cli.Commands;

/// <summary>
/// <c>flowdiffusion bench</c>: txt2img or img2img through the engine against the floor (the same work on ONNX Runtime
/// alone), cold and warm, with per-stage times, peak resident memory and the weights' size, and issue 17's targets as
/// ratios from the same run: engine / floor, the UNet step's FLOP rate / a large MatMul's, peak RSS / weights, a second
/// start's time to its first step, and what a new seed re-runs. Each phase runs in its own process, so its peak memory
/// and its cold start are its own. <c>--sd15</c> generates an SD 1.5-sized random-weight model on first use.
/// </summary>
internal static class BenchCommand
{
    private const string EnginePhaseName = "engine";
    private const string FloorPhaseName = "floor";
    private const string StartPhaseName = "start";

    public static Command Create()
    {
        var sd15 = new Option<bool>("--sd15") { Description = "Stable Diffusion 1.5's architecture with random weights, generated under the data folder (bench-models/) when missing (the default)." };
        var tiny = new Option<bool>("--tiny") { Description = "A few-MB model of the same structure (for testing the bench itself)." };
        var sdxl = new Option<bool>("--sdxl") { Description = "SDXL 1.0 base's architecture (2.6 B-parameter UNet, both text encoders; fp32, about 14 GB) with random weights, generated under the data folder when missing; runs sdxl-txt2img. With --tiny, a few-MB SDXL-shaped model." };
        var generateOnly = new Option<bool>("--generate-only") { Description = "Generate the model if it is missing, print its folder and exit (no timing): a full-size generation takes minutes of its own." };
        var coldOnly = new Option<bool>("--cold-only") { Description = "Only one cold engine run in a fresh process (load, encode, steps, decode, peak memory): no warm, new-seed, floor or second-start runs. For models whose every run takes minutes." };
        var model = new Option<string?>("--model") { Description = "Benchmark this diffusers-ONNX model folder instead of a generated one.", HelpName = "DIR" };
        var fp16 = new Option<bool>("--fp16") { Description = "Generate and benchmark the fp16 export instead of fp32." };
        var size = new Option<int>("--size") { Description = "Image width and height in pixels (a multiple of 8).", DefaultValueFactory = _ => 512 };
        var steps = new Option<int>("--steps") { Description = "Denoising steps (Euler, CFG 7.5: one batch-2 UNet call per step).", DefaultValueFactory = _ => 4 };
        var seed = new Option<int>("--seed") { Description = "The noise seed.", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };
        var img2img = new Option<bool>("--img2img") { Description = "Benchmark img2img (VAE encode of workflows/assets/landscape.png, the schedule's last round(steps × strength) steps) instead of txt2img." };
        var strength = new Option<double>("--strength") { Description = "img2img's denoising strength.", DefaultValueFactory = _ => BenchSettings.DefaultStrength };
        var rounds = new Option<int>("--rounds") { Description = $"Run the engine and floor phases this many times in turns (1 to {BenchRounds.Most}), each in a new process; the report takes the round with the median engine / floor ratio and lists them all.", DefaultValueFactory = _ => 1 };
        var phase = new Option<string?>("--phase") { Hidden = true };
        phase.AcceptOnlyFromAmong(EnginePhaseName, FloorPhaseName, StartPhaseName);
        var command = new Command("bench", "Time txt2img or img2img through the engine against a minimal ONNX Runtime loop on the same model (the floor), cold and warm, and report issue 17's targets as ratios.")
        {
            sd15, tiny, model, fp16, size, steps, seed, json, img2img, strength, rounds, phase, sdxl, coldOnly, generateOnly,
        };
        CommandAction.Set(command, async (parse, cancellationToken) =>
        {
            var sizeValue = parse.GetValue(size);
            var stepsValue = parse.GetValue(steps);
            if (sizeValue < 8 || sizeValue % 8 != 0 || sizeValue > 2048) throw new UsageException($"--size {sizeValue}: expected a multiple of 8 from 8 to 2048.");
            if (stepsValue is < 1 or > 1000) throw new UsageException($"--steps {stepsValue}: expected 1 to 1000.");
            var roundsValue = parse.GetValue(rounds);
            if (roundsValue is < 1 or > BenchRounds.Most) throw new UsageException($"--rounds {roundsValue}: expected 1 to {BenchRounds.Most}.");
            if (parse.GetValue(sd15) && parse.GetValue(tiny)) throw new UsageException("--sd15 and --tiny exclude each other.");
            SdxlBench.Validate(parse.GetValue(sdxl), parse.GetValue(sd15), parse.GetValue(fp16), parse.GetValue(model) is not null);
            if (parse.GetValue(model) is not null && (parse.GetValue(sd15) || parse.GetValue(tiny))) throw new UsageException("--model names the model; leave out --sd15 and --tiny.");
            var strengthValue = parse.GetValue(strength);
            if (double.IsNaN(strengthValue) || strengthValue is <= 0 or > 1) throw new UsageException($"--strength {strengthValue}: expected more than 0 and at most 1.");
            var mode = parse.GetValue(img2img) ? BenchSettings.Img2Img : BenchSettings.Txt2Img;
            try
            {
                _ = OnnxSessionOptions.Cpu.Threads;
                _ = OnnxArenaRelease.Mode;
                _ = NativeHeap.Threshold;
            }
            catch (InvalidOperationException e)
            {
                throw new UsageException(e.Message);
            }

            if (parse.GetValue(phase) is { } which)
            {
                var settings = new BenchSettings(Path.GetFullPath(parse.GetValue(model) ?? throw new UsageException("--phase needs --model")), sizeValue, stepsValue, parse.GetValue(seed), mode, strengthValue);
                JsonObject result;
                var resident = new ResidentSampler();
                try
                {
                    result = which switch
                    {
                        EnginePhaseName => await RunEngineAsync(parse, settings, cancellationToken),
                        StartPhaseName => await RunStartAsync(parse, settings, cancellationToken),
                        _ => RunFloor(settings, cancellationToken),
                    };
                }
                finally
                {
                    resident.Dispose();
                }
                result["peak_rss_anon_bytes"] = resident.PeakAnonymousBytes;
                result["peak_rss_file_bytes"] = resident.PeakFileBytes;
                result["peak_rss_anon_at_s"] = resident.PeakAnonymousAtSeconds;
                Console.WriteLine(result.ToJsonString());
                return ExitCodes.Ok;
            }

            var layoutName = SdxlBench.LayoutName(parse.GetValue(sdxl), parse.GetValue(tiny)) ?? (parse.GetValue(tiny) ? "tiny" : "sd15");
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
                    if (parse.GetValue(sdxl)) SdxlBench.Generate(layoutName, folder, TokenizerFolder(parse));
                    else SyntheticModel.Generate(layout, folder, TokenizerFolder(parse), seed: 1, float16: precision == "fp16");
                    generateSeconds = clock.Elapsed.TotalSeconds;
                }
            }

            if (parse.GetValue(generateOnly))
            {
                Console.WriteLine(folder);
                return ExitCodes.Ok;
            }

            var bench = new BenchSettings(folder, sizeValue, stepsValue, parse.GetValue(seed), mode, strengthValue);
            if (bench.StepsRun == 0) throw new UsageException($"--steps {stepsValue} at --strength {strengthValue} runs no step.");
            var loadBefore = PeakMemory.LoadAverage();
            if (parse.GetValue(coldOnly))
            {
                // One cold run in its own process (the second-start phase, whose optimised models may or may not be stored yet).
                var once = await RunPhaseAsync(parse, bench, StartPhaseName, cancellationToken);
                var cold = ColdReport.Create(bench, layoutName, precision, generateSeconds, once, loadBefore, PeakMemory.LoadAverage());
                Console.WriteLine(parse.GetValue(json) ? cold.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) : ColdReport.Format(cold));
                return ExitCodes.Ok;
            }

            var pairs = new List<(JsonObject Engine, JsonObject Floor)>();
            for (var round = 0; round < roundsValue; round++)
            {
                var engine = await RunPhaseAsync(parse, bench, EnginePhaseName, cancellationToken);
                pairs.Add((engine, await RunPhaseAsync(parse, bench, FloorPhaseName, cancellationToken)));
            }
            // Third, a fresh process on the same model: its sessions come from the optimised models the engine phase stored.
            var start = await RunPhaseAsync(parse, bench, StartPhaseName, cancellationToken);
            var report = Report(bench, layoutName, precision, generateSeconds, new BenchRounds(pairs), start, loadBefore, PeakMemory.LoadAverage());
            Console.WriteLine(parse.GetValue(json) ? report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) : BenchTable.Format(report));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task<JsonObject> RunEngineAsync(ParseResult parse, BenchSettings settings, CancellationToken cancellationToken)
    {
        using var host = CliHost.Build(parse);
        var (cold, warm, newSeed) = await EnginePhase.RunAsync(host, settings, cancellationToken);
        return new JsonObject
        {
            ["cold"] = cold.Times.ToJson(),
            ["warm"] = warm.Times.ToJson(),
            ["new_seed"] = newSeed.Times.ToJson(),
            ["new_seed_text_encodes_run"] = newSeed.TextEncodesRun,
            ["new_seed_text_encodes_cached"] = newSeed.TextEncodesCached,
            ["peak_rss_bytes"] = PeakMemory.Bytes(),
        };
    }

    // A cold run in a new process, timed from the process's start: the second start of the same model.
    private static async Task<JsonObject> RunStartAsync(ParseResult parse, BenchSettings settings, CancellationToken cancellationToken)
    {
        var processStart = new DateTimeOffset(Process.GetCurrentProcess().StartTime);
        using var host = CliHost.Build(parse);
        var run = await EnginePhase.RunColdAsync(host, settings, cancellationToken);
        return new JsonObject
        {
            ["cold"] = run.Times.ToJson(),
            ["to_first_step_s"] = run.FirstStepStart is { } first ? (first - processStart).TotalSeconds : null,
            ["first_step_s"] = run.Times.StepTimes.Count > 0 ? run.Times.StepTimes[0] : null,
            ["arena_releases"] = run.ArenaReleases,
            ["peak_rss_bytes"] = PeakMemory.Bytes(),
        };
    }

    private static JsonObject RunFloor(BenchSettings settings, CancellationToken cancellationToken)
    {
        var result = FloorPhase.Run(settings, cancellationToken);
        return new JsonObject
        {
            ["cold"] = result.Cold.ToJson(),
            ["warm"] = result.Warm.ToJson(),
            ["unet_step_flops"] = result.UNetFlopsPerStep,
            ["matmul_flops_per_s"] = result.MatMul.Best,
            ["matmul_sustained_flops_per_s"] = result.MatMul.Sustained,
            ["matmul_runs"] = result.MatMul.Runs,
            ["peak_rss_bytes"] = PeakMemory.Bytes(),
        };
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
            "--strength", settings.Strength.ToString("R", CultureInfo.InvariantCulture),
        ];
        foreach (var arg in args) start.ArgumentList.Add(arg);
        if (settings.IsImg2Img) start.ArgumentList.Add("--img2img");
        foreach (var folder in parse.GetValue(GlobalOptions.Plugins) ?? []) { start.ArgumentList.Add("--plugins"); start.ArgumentList.Add(folder); }
        foreach (var pair in parse.GetValue(GlobalOptions.Config) ?? []) { start.ArgumentList.Add("--config"); start.ArgumentList.Add(pair); }
        await Console.Error.WriteLineAsync($"bench: {phase} phase ({settings.Mode}, {settings.Size}×{settings.Size}, {settings.StepsRun} of {settings.Steps} steps) …");
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

    private static JsonObject Report(BenchSettings settings, string layout, string precision, double? generateSeconds, BenchRounds rounds, JsonObject start, string loadBefore, string loadAfter)
    {
        var (engine, floor) = rounds.Median;
        var engineWarm = StageTimes.FromJson(engine["warm"]!);
        var floorWarm = StageTimes.FromJson(floor["warm"]!);
        var weights = settings.WeightsBytes();
        var enginePeak = (long)engine["peak_rss_bytes"]!;
        var flops = (double)floor["unet_step_flops"]!;
        var matmul = (double)floor["matmul_flops_per_s"]!;
        double? unetRate = flops > 0 && engineWarm.Step > 0 ? flops / engineWarm.Step : null;
        var toFirstStep = (double?)start["to_first_step_s"];
        var encodesRun = (int)engine["new_seed_text_encodes_run"]!;
        var report = ReportFields.Run(settings, layout, precision);
        report["floor_settings"] = OnnxSessionOptions.Cpu.Describe() + " (the engine's defaults, the best settings measured; arena on)";
        ReportFields.AddRuntime(report);
        report["engine_s"] = engineWarm.Total;
        report["floor_s"] = floorWarm.Total;
        report["engine_over_floor"] = engineWarm.Total / floorWarm.Total;
        report["engine_cold_s"] = StageTimes.FromJson(engine["cold"]!).Total;
        report["floor_cold_s"] = StageTimes.FromJson(floor["cold"]!).Total;
        report["unet_step_s"] = engineWarm.Step;
        report["floor_unet_step_s"] = floorWarm.Step;
        report["vae_decode_s"] = engineWarm.Decode;
        report["vae_encode_s"] = settings.IsImg2Img ? engineWarm.VaeEncode : null;
        report["floor_vae_encode_s"] = settings.IsImg2Img ? floorWarm.VaeEncode : null;
        report["unet_step_flops"] = flops > 0 ? flops : null;
        report["unet_step_flops_per_s"] = unetRate;
        report["matmul_flops_per_s"] = matmul;
        report["matmul_sustained_flops_per_s"] = (double)floor["matmul_sustained_flops_per_s"]!;
        report["matmul_runs"] = (int)floor["matmul_runs"]!;
        report["unet_over_matmul_flop_rate"] = unetRate / matmul;
        report["peak_rss_bytes"] = Math.Max(enginePeak, (long)floor["peak_rss_bytes"]!);
        report["engine_peak_rss_bytes"] = enginePeak;
        report["engine_peak_rss_anon_bytes"] = engine["peak_rss_anon_bytes"]?.DeepClone();
        report["engine_peak_rss_file_bytes"] = engine["peak_rss_file_bytes"]?.DeepClone();
        report["engine_peak_rss_anon_at_s"] = engine["peak_rss_anon_at_s"]?.DeepClone();
        report["weights_bytes"] = weights;
        report["peak_rss_over_weights"] = enginePeak / (double)weights;
        report["second_start_to_first_step_s"] = toFirstStep;
        report["new_seed_text_encodes_run"] = encodesRun;
        report["new_seed_text_encodes_cached"] = (int)engine["new_seed_text_encodes_cached"]!;
        report["generate_s"] = generateSeconds;
        report["rounds"] = rounds.ToJson();
        report["median_round"] = rounds.MedianIndex;
        report["engine"] = engine;
        report["floor"] = floor;
        report["start"] = start;
        ReportFields.AddMachine(report, loadBefore, loadAfter);
        // Issue 17's targets (item 6), each judged on this run's figures; the FLOP-rate and memory targets are set at 512² txt2img.
        report["targets"] = new JsonObject
        {
            ["engine_over_floor"] = Target(engineWarm.Total / floorWarm.Total, 1.02, atMost: true),
            ["unet_over_matmul_flop_rate"] = Target(unetRate / matmul, 0.70, atMost: false),
            ["peak_rss_over_weights"] = Target(enginePeak / (double)weights, 1.6, atMost: true),
            ["second_start_to_first_step_s"] = Target(toFirstStep, 5, atMost: true),
            ["new_seed_text_encodes_run"] = Target(encodesRun, 0, atMost: true),
        };
        return report;
    }

    private static JsonObject Target(double? value, double limit, bool atMost) => new()
    {
        ["value"] = value,
        [atMost ? "at_most" : "at_least"] = limit,
        ["met"] = value is { } v ? (atMost ? v <= limit : v >= limit) : null,
    };

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
