using System.Text.Json.Nodes;

namespace FlowDiffusion.Cli.Tests;

public sealed class BenchCommandTests : IDisposable
{
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-bench-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Bench_generates_the_model_once_and_reports_engine_and_floor_stages_that_add_up()
    {
        var data = Path.Combine(_scratch, "data");
        var environment = new Dictionary<string, string> { ["FLOWDIFFUSION_ORT_CACHE"] = Path.Combine(_scratch, "ort") };
        var (code, stdout, stderr) = Cli.RunWith(environment, "bench", "--tiny", "--size", "64", "--steps", "3", "--json", "--config", "FlowDiffusion:DataFolder=" + data);
        Assert.True(code == 0, stderr);
        Assert.Contains("Generating", stderr);
        var report = JsonNode.Parse(stdout)!.AsObject();

        var model = Path.Combine(data, "bench-models", "tiny-fp32");
        Assert.Equal(model, (string)report["model"]!);
        var weights = new[] { "text_encoder", "unet", "vae_decoder" }.SelectMany(c => Directory.GetFiles(Path.Combine(model, c)))
            .Where(f => !f.EndsWith(".json", StringComparison.Ordinal)).Sum(f => new FileInfo(f).Length);
        Assert.Equal(weights, (long)report["weights_bytes"]!);
        Assert.True((double)report["generate_s"]! > 0);

        foreach (var phase in new[] { "engine", "floor" })
        {
            foreach (var run in new[] { "cold", "warm" })
            {
                var times = report[phase]![run]!;
                var steps = times["step_s"]!.AsArray().Select(s => (double)s!).ToArray();
                Assert.Equal(3, steps.Length);
                Assert.All(steps, s => Assert.True(s > 0, $"{phase} {run}: a step took {s} s"));
                Assert.Equal(steps.Average(), (double)times["unet_step_s"]!, 9);
                Assert.Equal(steps.Sum(), (double)times["sample_s"]!, 9);
                var parts = new[] { "load_s", "encode_s", "sample_s", "vae_decode_s", "save_s" }.Sum(p => (double)times[p]!);
                var total = (double)times["total_s"]!;
                // The stages run one after another inside the run, so together they cannot exceed it (5 ms for clock granularity).
                Assert.True(parts <= total + 0.005, $"{phase} {run}: stages add up to {parts} s, more than the run's {total} s");
                Assert.True((double)times["vae_decode_s"]! > 0 && (double)times["encode_s"]! > 0, $"{phase} {run}: decode and encode were timed");
            }

            Assert.True((long)report[phase]!["peak_rss_bytes"]! > 20L << 20, $"{phase}: a process with ONNX Runtime sessions peaks above 20 MiB");
            AssertResidentParts(report[phase]!.AsObject(), "", phase);
        }
        AssertResidentParts(report, "engine_", "report");
        Assert.Equal((long)report["engine"]!["peak_rss_anon_bytes"]!, (long)report["engine_peak_rss_anon_bytes"]!);

        Assert.True((double)report["engine"]!["cold"]!["load_s"]! > 0, "the cold engine run creates the sessions in model.load");
        Assert.True((double)report["floor"]!["cold"]!["load_s"]! > 0 && (double)report["floor"]!["warm"]!["load_s"]! == 0, "the floor creates its sessions once");
        Assert.Equal((double)report["engine"]!["warm"]!["total_s"]!, (double)report["engine_s"]!);
        Assert.Equal((double)report["floor"]!["warm"]!["total_s"]!, (double)report["floor_s"]!);
        Assert.Equal((double)report["engine"]!["warm"]!["unet_step_s"]!, (double)report["unet_step_s"]!);
        Assert.Equal((double)report["engine"]!["warm"]!["vae_decode_s"]!, (double)report["vae_decode_s"]!);
        Assert.Equal((double)report["engine_s"]! / (double)report["floor_s"]!, (double)report["engine_over_floor"]!, 9);
        Assert.Equal(Math.Max((long)report["engine"]!["peak_rss_bytes"]!, (long)report["floor"]!["peak_rss_bytes"]!), (long)report["peak_rss_bytes"]!);
        AssertTargets(report);

        // A second bench reuses the generated model and prints a table.
        (code, stdout, stderr) = Cli.RunWith(environment, "bench", "--tiny", "--size", "64", "--steps", "1", "--config", "FlowDiffusion:DataFolder=" + data);
        Assert.True(code == 0, stderr);
        Assert.DoesNotContain("Generating", stderr);
        Assert.Contains("unet step", stdout);
        Assert.Contains("engine / floor (warm):", stdout);
        Assert.Contains("CPU runs take turns", stdout);
        Assert.Contains("at most, file-backed", stdout);
        Assert.Matches(@"UNet step \d+\.\d GFLOP/s; 2048² MatMul \d+\.\d GFLOP/s \(fastest of \d+ runs\), \d+\.\d GFLOP/s sustained", stdout);
    }

    [Fact]
    public void Bench_img2img_encodes_the_image_and_runs_the_scheduled_share_of_the_steps_in_engine_and_floor()
    {
        var data = Path.Combine(_scratch, "data");
        // Runs that do not take turns give the same figures' structure (and the report says which setting ran).
        var environment = new Dictionary<string, string> { ["FLOWDIFFUSION_ORT_CACHE"] = Path.Combine(_scratch, "ort"), ["FLOWDIFFUSION_CPU_RUNS"] = "parallel" };
        var (code, stdout, stderr) = Cli.RunWith(environment, "bench", "--tiny", "--img2img", "--size", "64", "--steps", "4", "--strength", "0.5", "--json", "--config", "FlowDiffusion:DataFolder=" + data);
        Assert.True(code == 0, stderr);
        var report = JsonNode.Parse(stdout)!.AsObject();

        Assert.Equal("img2img", (string)report["mode"]!);
        Assert.Equal("parallel", (string)report["cpu_runs"]!);
        Assert.Equal(2, (int)report["steps_run"]!);
        var model = Path.Combine(data, "bench-models", "tiny-fp32");
        var weights = new[] { "text_encoder", "unet", "vae_decoder", "vae_encoder" }.SelectMany(c => Directory.GetFiles(Path.Combine(model, c)))
            .Where(f => !f.EndsWith(".json", StringComparison.Ordinal)).Sum(f => new FileInfo(f).Length);
        Assert.Equal(weights, (long)report["weights_bytes"]!);
        foreach (var (phase, run) in new[] { ("engine", "cold"), ("engine", "warm"), ("engine", "new_seed"), ("floor", "cold"), ("floor", "warm"), ("start", "cold") })
        {
            var times = report[phase]![run]!;
            Assert.Equal(2, times["step_s"]!.AsArray().Count);
            // A new seed changes only the noise: the image's encoding, like the prompts', comes from the cache.
            if (run == "new_seed") Assert.Equal(0, (double)times["vae_encode_s"]!);
            else Assert.True((double)times["vae_encode_s"]! > 0, $"{phase} {run}: the image was encoded");
            var parts = new[] { "load_s", "encode_s", "vae_encode_s", "sample_s", "vae_decode_s", "save_s" }.Sum(p => (double)times[p]!);
            // The engine may encode the image while it encodes the prompts, so the parts may overlap; never by more than the encode.
            Assert.True(parts <= (double)times["total_s"]! + (double)times["encode_s"]! + 0.005, $"{phase} {run}: stages add up to {parts} s");
        }

        Assert.Equal((double)report["engine"]!["warm"]!["vae_encode_s"]!, (double)report["vae_encode_s"]!);
        AssertTargets(report);
    }

    [Fact]
    public void Bench_sdxl_generates_a_tiny_sdxl_model_and_times_both_text_encoders_the_unets_extra_inputs_and_the_decode()
    {
        var data = Path.Combine(_scratch, "data");
        var environment = new Dictionary<string, string> { ["FLOWDIFFUSION_ORT_CACHE"] = Path.Combine(_scratch, "ort") };
        var model = Path.Combine(data, "bench-models", "sdxl-tiny-fp32");
        var (code, stdout, stderr) = Cli.RunWith(environment, "bench", "--sdxl", "--tiny", "--generate-only", "--config", "FlowDiffusion:DataFolder=" + data);
        Assert.True(code == 0, stderr);
        Assert.Contains("Generating", stderr);
        Assert.Equal(model, stdout.Trim());
        Assert.True(File.Exists(Path.Combine(model, "text_encoder_2", "model.onnx")));

        (code, stdout, stderr) = Cli.RunWith(environment, "bench", "--sdxl", "--tiny", "--size", "64", "--steps", "2", "--json", "--config", "FlowDiffusion:DataFolder=" + data);
        Assert.True(code == 0, stderr);
        Assert.DoesNotContain("Generating", stderr);
        var report = JsonNode.Parse(stdout)!.AsObject();

        Assert.Equal(model, (string)report["model"]!);
        Assert.Equal("sdxl-txt2img", (string)report["workflow"]!);
        // weights_bytes counts the second text encoder too.
        var weights = new[] { "text_encoder", "text_encoder_2", "unet", "vae_decoder" }.SelectMany(c => Directory.GetFiles(Path.Combine(model, c)))
            .Where(f => !f.EndsWith(".json", StringComparison.Ordinal)).Sum(f => new FileInfo(f).Length);
        Assert.Equal(weights, (long)report["weights_bytes"]!);
        foreach (var (phase, run) in new[] { ("engine", "cold"), ("engine", "warm"), ("floor", "cold"), ("floor", "warm"), ("start", "cold") })
        {
            var times = report[phase]![run]!;
            var steps = times["step_s"]!.AsArray().Select(s => (double)s!).ToArray();
            Assert.Equal(2, steps.Length);
            Assert.All(steps, s => Assert.True(s > 0, $"{phase} {run}: a step took {s} s"));
            Assert.True((double)times["encode_s"]! > 0 && (double)times["vae_decode_s"]! > 0, $"{phase} {run}: encode and decode were timed");
        }

        // The floor's UNet ran once per step with text_embeds and time_ids bound (else ONNX Runtime refuses the call), and its FLOPs were counted.
        Assert.True((double)report["unet_step_flops"]! > 1e6);
        Assert.Equal(0, (int)report["new_seed_text_encodes_run"]!);
        Assert.Equal(2, (int)report["new_seed_text_encodes_cached"]!);
        Assert.True((long)report["peak_rss_bytes"]! > 20L << 20);

        // --cold-only: one cold run on the generated model, its figures under the same names.
        (code, stdout, stderr) = Cli.RunWith(environment, "bench", "--sdxl", "--tiny", "--size", "64", "--steps", "2", "--cold-only", "--json", "--config", "FlowDiffusion:DataFolder=" + data);
        Assert.True(code == 0, stderr);
        Assert.DoesNotContain("Generating", stderr);
        Assert.DoesNotContain("floor phase", stderr);
        var cold = JsonNode.Parse(stdout)!.AsObject();
        var coldSteps = cold["engine"]!["cold"]!["step_s"]!.AsArray().Select(s => (double)s!).ToArray();
        Assert.Equal(2, coldSteps.Length);
        Assert.Equal(coldSteps.Average(), (double)cold["unet_step_s"]!, 9);
        Assert.Equal(coldSteps[0], (double)cold["unet_first_step_s"]!, 9);
        Assert.Equal(coldSteps[1], (double)cold["unet_later_step_s"]!, 9);
        Assert.True((double)cold["load_s"]! > 0 && (double)cold["encode_s"]! > 0 && (double)cold["vae_decode_s"]! > 0);
        Assert.True((double)cold["to_first_step_s"]! > (double)cold["load_s"]! + (double)cold["encode_s"]!);
        Assert.Equal(weights, (long)cold["weights_bytes"]!);
        Assert.Equal((long)cold["peak_rss_bytes"]! / (double)weights, (double)cold["peak_rss_over_weights"]!, 9);
        Assert.Null(cold["floor_s"]);
        AssertResidentParts(cold, "engine_", "cold");

        (code, stdout, stderr) = Cli.RunWith(environment, "bench", "--sdxl", "--tiny", "--size", "64", "--steps", "1", "--cold-only", "--config", "FlowDiffusion:DataFolder=" + data);
        Assert.True(code == 0, stderr);
        Assert.Contains("unet step 1", stdout);
        Assert.Contains("peak RSS", stdout);
    }

    [Fact]
    public void Bench_with_rounds_runs_engine_and_floor_in_turns_and_reports_the_median_round()
    {
        var data = Path.Combine(_scratch, "data");
        var environment = new Dictionary<string, string> { ["FLOWDIFFUSION_ORT_CACHE"] = Path.Combine(_scratch, "ort") };
        var (code, stdout, stderr) = Cli.RunWith(environment, "bench", "--tiny", "--size", "64", "--steps", "1", "--rounds", "3", "--json", "--config", "FlowDiffusion:DataFolder=" + data);
        Assert.True(code == 0, stderr);
        var report = JsonNode.Parse(stdout)!.AsObject();

        var phases = stderr.Split('\n').Where(l => l.StartsWith("bench: ", StringComparison.Ordinal)).Select(l => l.Split(' ')[1]).ToArray();
        Assert.Equal(["engine", "floor", "engine", "floor", "engine", "floor", "start"], phases);
        var rounds = report["rounds"]!.AsArray();
        Assert.Equal(3, rounds.Count);
        var ratios = rounds.Select(r => (double)r!["engine_over_floor"]!).ToArray();
        for (var i = 0; i < 3; i++) Assert.Equal((double)rounds[i]!["engine_s"]! / (double)rounds[i]!["floor_s"]!, ratios[i], 12);
        var median = (int)report["median_round"]!;
        Assert.Equal(ratios.Order().ElementAt(1), ratios[median]);
        // Every headline figure is the median round's.
        Assert.Equal(ratios[median], (double)report["engine_over_floor"]!, 12);
        Assert.Equal((double)rounds[median]!["engine_s"]!, (double)report["engine"]!["warm"]!["total_s"]!);
        Assert.Equal((double)rounds[median]!["floor_s"]!, (double)report["floor_s"]!);
        Assert.Equal((double)rounds[median]!["unet_step_s"]!, (double)report["unet_step_s"]!);
        Assert.Equal((double)rounds[median]!["matmul_flops_per_s"]!, (double)report["matmul_flops_per_s"]!);
        Assert.Equal(3, rounds.Select(r => (double)r!["engine_s"]!).Distinct().Count());
        Assert.Equal("per session", (string)report["intra_op_pool"]!);
        Assert.Equal("take turns", (string)report["cpu_runs"]!);
        Assert.InRange((int)report["intra_op_threads"]!, 1, Environment.ProcessorCount);
        AssertTargets(report);

        (code, stdout, stderr) = Cli.RunWith(environment, "bench", "--tiny", "--size", "64", "--steps", "1", "--rounds", "2", "--config", "FlowDiffusion:DataFolder=" + data);
        Assert.True(code == 0, stderr);
        Assert.Matches(@"rounds, in turn: \d+\.\d{3}, \d+\.\d{3}; the columns above are round [12], the median", stdout);
    }

    [Fact]
    public void Bench_runs_every_phase_on_the_shared_pool_of_the_size_FLOWDIFFUSION_ORT_THREADS_sets_and_refuses_a_bad_one()
    {
        var data = Path.Combine(_scratch, "data");
        var environment = new Dictionary<string, string> { ["FLOWDIFFUSION_ORT_CACHE"] = Path.Combine(_scratch, "ort"), ["FLOWDIFFUSION_ORT_THREADS"] = "1", ["FLOWDIFFUSION_ORT_POOL"] = "shared" };
        var (code, stdout, stderr) = Cli.RunWith(environment, "bench", "--tiny", "--size", "64", "--steps", "1", "--json", "--config", "FlowDiffusion:DataFolder=" + data);
        Assert.True(code == 0, stderr);
        var report = JsonNode.Parse(stdout)!.AsObject();
        Assert.Equal(1, (int)report["intra_op_threads"]!);
        Assert.Equal("shared", (string)report["intra_op_pool"]!);
        // One thread a session leaves the other cores for other runs, so runs do not take turns (on a machine with more than one core).
        Assert.Equal((int)report["cores"]! > 1 ? "parallel" : "take turns", (string)report["cpu_runs"]!);

        environment["FLOWDIFFUSION_ORT_THREADS"] = "many";
        (code, _, stderr) = Cli.RunWith(environment, "bench", "--tiny", "--size", "64", "--steps", "1", "--config", "FlowDiffusion:DataFolder=" + data);
        Assert.Equal(2, code);
        Assert.Contains("FLOWDIFFUSION_ORT_THREADS must be a whole number from 1 to 1024", stderr);
        Assert.Contains("'many'", stderr);
    }

    [Fact]
    public void Bench_releases_the_UNets_arena_as_FLOWDIFFUSION_ARENA_RELEASE_says_counts_the_releases_and_refuses_a_bad_value()
    {
        var data = Path.Combine(_scratch, "data");
        var environment = new Dictionary<string, string> { ["FLOWDIFFUSION_ORT_CACHE"] = Path.Combine(_scratch, "ort") };
        JsonObject Cold()
        {
            var (code, stdout, stderr) = Cli.RunWith(environment, "bench", "--tiny", "--size", "64", "--steps", "2", "--cold-only", "--json", "--config", "FlowDiffusion:DataFolder=" + data);
            Assert.True(code == 0, stderr);
            return JsonNode.Parse(stdout)!.AsObject();
        }

        // 8×8 latents: auto leaves the arena alone; always releases after the last step (one UNet run: guidance batches both halves).
        var auto = Cold();
        Assert.Equal("auto", (string)auto["arena_release"]!);
        Assert.Equal(0, (int)auto["arena_releases"]!);
        // glibc's mmap threshold stays its own unless FLOWDIFFUSION_MMAP_THRESHOLD fixes it (mallopt succeeded: glibc here).
        Assert.Equal(OperatingSystem.IsLinux() ? "dynamic" : "not glibc", (string)auto["mmap_threshold"]!);
        if (OperatingSystem.IsLinux())
        {
            environment["FLOWDIFFUSION_MMAP_THRESHOLD"] = "131072";
            Assert.Equal("131072", (string)Cold()["mmap_threshold"]!);
            environment["FLOWDIFFUSION_MMAP_THRESHOLD"] = "lots";
            var (thresholdCode, _, thresholdError) = Cli.RunWith(environment, "bench", "--tiny", "--size", "64", "--steps", "1", "--config", "FlowDiffusion:DataFolder=" + data);
            Assert.Equal(2, thresholdCode);
            Assert.Contains("FLOWDIFFUSION_MMAP_THRESHOLD must be a byte count", thresholdError);
            environment.Remove("FLOWDIFFUSION_MMAP_THRESHOLD");
        }

        environment["FLOWDIFFUSION_ARENA_RELEASE"] = "always";
        var always = Cold();
        Assert.Equal("always", (string)always["arena_release"]!);
        Assert.Equal(1, (int)always["arena_releases"]!);
        environment["FLOWDIFFUSION_ARENA_RELEASE"] = "Never";
        Assert.Equal("never", (string)Cold()["arena_release"]!);

        environment["FLOWDIFFUSION_ARENA_RELEASE"] = "always";
        var (tableCode, table, tableError) = Cli.RunWith(environment, "bench", "--tiny", "--size", "64", "--steps", "1", "--cold-only", "--config", "FlowDiffusion:DataFolder=" + data);
        Assert.True(tableCode == 0, tableError);
        Assert.Contains("arena release always, mmap threshold " + (OperatingSystem.IsLinux() ? "dynamic" : "not glibc") + "; 1 model runs released", table);

        environment["FLOWDIFFUSION_ARENA_RELEASE"] = "sometimes";
        var (badCode, _, badError) = Cli.RunWith(environment, "bench", "--tiny", "--size", "64", "--steps", "1", "--config", "FlowDiffusion:DataFolder=" + data);
        Assert.Equal(2, badCode);
        Assert.Contains("FLOWDIFFUSION_ARENA_RELEASE must be auto, always or never, not 'sometimes'", badError);
        // A run outside the bench fails at the sampler, before its first step, with the same message.
        var (runCode, _, runError) = Cli.RunWith(environment, "run", "workflows/txt2img.yaml", "--set", "model=models/tiny-sd", "--set", "steps=1", "--set", "width=64", "--set", "height=64", "--out", Path.Combine(_scratch, "out"));
        Assert.Equal(1, runCode);
        Assert.Contains("FLOWDIFFUSION_ARENA_RELEASE must be auto, always or never, not 'sometimes'", runError);
    }

    [Theory]
    [InlineData("--rounds", "0")]
    [InlineData("--rounds", "21")]
    [InlineData("--sd15", "--tiny")]
    [InlineData("--size", "100")]
    [InlineData("--model", "no/such/folder")]
    [InlineData("--sdxl", "--sd15")]
    [InlineData("--sdxl", "--fp16")]
    public void Bench_refuses_contradictory_or_impossible_settings_as_usage_errors(string option, string value)
    {
        var (code, _, stderr) = Cli.Run("bench", option, value);
        Assert.Equal(2, code);
        Assert.StartsWith("error:", stderr.TrimStart());
    }

    // The target ratios come from the run's own figures; a new seed is served the prompts' encodings from the cache.
    private static void AssertTargets(JsonObject report)
    {
        var targets = report["targets"]!;
        Assert.Equal((double)report["engine_over_floor"]!, (double)targets["engine_over_floor"]!["value"]!);
        Assert.Equal(1.02, (double)targets["engine_over_floor"]!["at_most"]!);
        var flops = (double)report["unet_step_flops"]!;
        Assert.True(flops > 1e6, $"the tiny UNet's step counts {flops} FLOPs");
        var matmul = (double)report["matmul_flops_per_s"]!;
        Assert.True(matmul > 1e8, $"a 2048² MatMul ran at {matmul} FLOP/s");
        // The yardstick is timed for a window of at least 3 s: its best run is at least as fast as the window's average.
        var sustained = (double)report["matmul_sustained_flops_per_s"]!;
        var runs = (int)report["matmul_runs"]!;
        var window = runs * 2.0 * 2048 * 2048 * 2048 / sustained;
        Assert.True(sustained > 1e8 && sustained <= matmul, $"sustained {sustained} FLOP/s against the best run's {matmul}");
        Assert.True(runs >= 5 && window >= 3, $"{runs} MatMul runs timed over {window} s");
        Assert.Equal(flops / (double)report["unet_step_s"]! / matmul, (double)targets["unet_over_matmul_flop_rate"]!["value"]!, 9);
        Assert.Equal((long)report["engine_peak_rss_bytes"]! / (double)(long)report["weights_bytes"]!, (double)targets["peak_rss_over_weights"]!["value"]!, 9);
        var toFirstStep = (double)targets["second_start_to_first_step_s"]!["value"]!;
        var start = report["start"]!["cold"]!;
        Assert.True(toFirstStep > (double)start["load_s"]! + (double)start["encode_s"]!, $"a second start reached its first step after {toFirstStep} s, before loading and encoding ended");
        Assert.Equal(0, (int)report["new_seed_text_encodes_run"]!);
        Assert.Equal(2, (int)report["new_seed_text_encodes_cached"]!);
        Assert.True((bool)targets["new_seed_text_encodes_run"]!["met"]!);
    }

    public void Dispose()
    {
        if (Directory.Exists(_scratch))
        {
            Directory.Delete(_scratch, recursive: true);
        }
    }

    // The sampled parts of a phase's resident set: on Linux both are there, each above zero (the heap; the runtime's own
    // mapped files) and neither above the peak of the whole, which includes it (10 % for what the kernel's high-water
    // mark may not have caught between its updates: pages reclaimed rather than unmapped).
    private static void AssertResidentParts(JsonObject report, string prefix, string what)
    {
        if (!OperatingSystem.IsLinux()) return;
        var peak = (long)(report["peak_rss_bytes"] ?? report["engine_peak_rss_bytes"])!;
        var anon = (long)report[prefix + "peak_rss_anon_bytes"]!;
        var file = (long)report[prefix + "peak_rss_file_bytes"]!;
        var at = (double)report[prefix + "peak_rss_anon_at_s"]!;
        Assert.True(anon > 10L << 20 && anon <= peak * 1.1, $"{what}: anonymous {anon} against the peak {peak}");
        Assert.True(file > 1L << 20 && file <= peak * 1.1, $"{what}: file-backed {file} against the peak {peak}");
        // After the process started, and within the few minutes a tiny model's phase takes.
        Assert.True(at > 0 && at < 600, $"{what}: the anonymous peak {at} s after the process started");
    }
}
