using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Comfy.Tests;

public sealed class InfoRouteTests
{
    [Fact]
    public async Task Object_info_describes_classes_in_ComfyUI_shape_with_combo_lists_and_the_loaders_clients_read()
    {
        await using var host = await ComfyHost.StartAsync();
        var all = JsonNode.Parse(await host.Client.GetStringAsync("/object_info"))!;
        var sampler = all["KSampler"]!["input"]!["required"]!;
        var names = sampler["sampler_name"]![0]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Contains("dpmpp_2m", names);
        Assert.Contains("uni_pc_bh2", names);
        Assert.Contains("dpmpp_3m_sde", names);
        Assert.Equal(["seeds_3", "sa_solver", "sa_solver_pece", "ddim"], names.Skip(names.IndexOf("seeds_3")).Take(4));
        Assert.Equal(["normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform", "beta", "linear_quadratic", "kl_optimal", "AYS SDXL", "AYS SD1", "AYS SVD", "GITS[coeff=1.2]"],
            sampler["scheduler"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("INT", sampler["steps"]![0]!.GetValue<string>());
        Assert.Equal("MODEL", sampler["model"]![0]!.GetValue<string>());
        Assert.Equal(["LATENT"], all["KSampler"]!["output"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.NotNull(all["UNETLoader"]!["input"]!["required"]!["unet_name"]![0]!.AsArray());
        Assert.NotNull(all["VAELoader"]!["input"]!["required"]!["vae_name"]![0]!.AsArray());
        var checkpoints = all["CheckpointLoaderSimple"]!["input"]!["required"]!["ckpt_name"]![0]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Contains("analytic-sd", checkpoints);
        Assert.Contains("shapes-sd", checkpoints);
        Assert.True(all["SaveImage"]!["output_node"]!.GetValue<bool>());

        var one = JsonNode.Parse(await host.Client.GetStringAsync("/api/object_info/KSamplerAdvanced"))!;
        Assert.Equal(["enable", "disable"], one["KSamplerAdvanced"]!["input"]!["required"]!["add_noise"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Empty(JsonNode.Parse(await host.Client.GetStringAsync("/object_info/NoSuchNode"))!.AsObject());

        var models = JsonNode.Parse(await host.Client.GetStringAsync("/models"))!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Contains("checkpoints", models);
        Assert.Contains("shapes-sd", JsonNode.Parse(await host.Client.GetStringAsync("/api/models/checkpoints"))!.AsArray().Select(n => n!.GetValue<string>()));
        // /api/models is FlowDiffusion's own list beside the ComfyUI layer (it answered 500 when both mapped it).
        using var ours = await host.Client.GetAsync("/api/models");
        Assert.Equal(System.Net.HttpStatusCode.OK, ours.StatusCode);
        Assert.NotNull(JsonNode.Parse(await ours.Content.ReadAsStringAsync())!["models"]!.AsArray());
        using var unknown = await host.Client.GetAsync("/models/not-a-folder");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.NotNull(JsonNode.Parse(await host.Client.GetStringAsync("/embeddings"))!.AsArray());
        var stats = JsonNode.Parse(await host.Client.GetStringAsync("/system_stats"))!;
        Assert.True(stats["system"]!["ram_total"]!.GetValue<long>() > 0);
        Assert.Equal("cpu", stats["devices"]![0]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Object_info_marks_advanced_exactly_the_inputs_that_set_an_advanced_parameter_of_their_node_unchanged()
    {
        await using var host = await ComfyHost.StartAsync();
        var all = JsonNode.Parse(await host.Client.GetStringAsync("/object_info"))!.AsObject();
        var marked = all.SelectMany(c => new[] { "required", "optional" }
                .SelectMany(group => c.Value!["input"]![group]?.AsObject() ?? [])
                .Where(i => i.Value is JsonArray { Count: > 1 } spec && spec[1] is JsonObject options && options["advanced"] is { } flag && flag.GetValue<bool>())
                .Select(i => $"{c.Key}.{i.Key}"))
            .ToList();
        Assert.Equal(["VAEDecodeTiled.overlap", "VAEEncodeTiled.overlap"], marked.Order());
        var one = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/VAEDecodeTiled"))!["VAEDecodeTiled"]!["input"]!["required"]!;
        Assert.Equal(64, one["overlap"]![1]!["default"]!.GetValue<int>());
        Assert.True(one["overlap"]![1]!["advanced"]!.GetValue<bool>());
        Assert.Null(one["tile_size"]![1]!["advanced"]);

        // One to one: each marked input's value is the parameter of the node its class becomes, unchanged.
        var prompt = Prompts.Parse("""
            {
              "4": { "class_type": "CheckpointLoaderSimple", "inputs": { "ckpt_name": "tiny-sd" } },
              "1": { "class_type": "EmptyImage", "inputs": { "width": 64, "height": 64, "batch_size": 1, "color": 0 } },
              "2": { "class_type": "VAEEncodeTiled", "inputs": { "pixels": ["1", 0], "vae": ["4", 2], "tile_size": 512, "overlap": 96 } },
              "3": { "class_type": "VAEDecodeTiled", "inputs": { "samples": ["2", 0], "vae": ["4", 2], "tile_size": 512, "overlap": 160 } },
              "9": { "class_type": "SaveImage", "inputs": { "images": ["3", 0], "filename_prefix": "x" } }
            }
            """);
        var folders = new ComfyFolders(RepositoryRoot.Path, RepositoryRoot.Path, RepositoryRoot.Path);
        var workflow = ApiPromptConverter.Convert(prompt, folders, requireFiles: false).Workflow!;
        long Overlap(string type) => Convert.ToInt64(((LiteralValue)workflow.Nodes.Single(n => n.Type == type).Parameter("overlap")!.Value).Value,
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal((96, 160), (Overlap("vae.encode_tiled"), Overlap("vae.decode_tiled")));
    }

    [Fact]
    public async Task Object_info_gives_the_scheduler_nodes_ComfyUIs_ranges_and_defaults()
    {
        await using var host = await ComfyHost.StartAsync();
        var all = JsonNode.Parse(await host.Client.GetStringAsync("/object_info"))!;
        string Range(string type, string input)
        {
            var options = all[type]!["input"]!["required"]![input]![1]!;
            return $"{options["default"]} {options["min"]} … {options["max"]}";
        }

        Assert.Equal("1 1 … 10", Range("SDTurboScheduler", "steps"));
        Assert.Equal("1 0 … 1", Range("SDTurboScheduler", "denoise"));
        Assert.Equal("MODEL", all["SDTurboScheduler"]!["input"]!["required"]!["model"]![0]!.GetValue<string>());
        Assert.Equal("1 0 … 100", Range("PolyexponentialScheduler", "rho"));
        Assert.Equal("19.9 0 … 5000", Range("VPScheduler", "beta_d"));
        Assert.Equal("0.001 0 … 1", Range("VPScheduler", "eps_s"));
        Assert.Equal("0 -10 … 10", Range("LaplaceScheduler", "mu"));
        Assert.Equal("0.5 0 … 10", Range("LaplaceScheduler", "beta"));
        Assert.Equal("0.6 0 … 50", Range("BetaSamplingScheduler", "alpha"));
        Assert.Equal("1.2 0.8 … 1.5", Range("GITSScheduler", "coeff"));
        Assert.Equal(0.05, all["GITSScheduler"]!["input"]!["required"]!["coeff"]![1]!["step"]!.GetValue<double>());
        Assert.Equal("10 2 … 1000", Range("GITSScheduler", "steps"));
        Assert.Equal("136 0 … 20000", Range("SetFirstSigma", "sigma"));
        Assert.Equal("1 0 … 1", Range("SplitSigmasDenoise", "denoise"));
        Assert.Equal(["high_sigmas", "low_sigmas"], all["SplitSigmasDenoise"]!["output_name"]!.AsArray().Select(n => n!.GetValue<string>()));
        foreach (var type in new[] { "SDTurboScheduler", "PolyexponentialScheduler", "VPScheduler", "LaplaceScheduler", "BetaSamplingScheduler", "GITSScheduler", "SetFirstSigma" })
            Assert.Equal(["SIGMAS"], all[type]!["output"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["SIGMAS"], all["FlipSigmas"]!["output"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("2 1 … 100", Range("ExtendIntermediateSigmas", "steps"));
        Assert.Equal("-1 -1 … 20000", Range("ExtendIntermediateSigmas", "start_at_sigma"));
        Assert.Equal("12 0 … 20000", Range("ExtendIntermediateSigmas", "end_at_sigma"));
        Assert.Equal(["linear", "cosine", "sine"], all["ExtendIntermediateSigmas"]!["input"]!["required"]!["spacing"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("1, 0.5", all["ManualSigmas"]!["input"]!["required"]!["sigmas"]![1]!["default"]!.GetValue<string>());
        Assert.Equal(["LATENT"], all["AddNoise"]!["output"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["FLOAT"], all["SamplingPercentToSigma"]!["output"]!.AsArray().Select(n => n!.GetValue<string>()));
    }

    // Made not to depend on timing: 10,000 tiny-sd steps at 256² (a real UNet, twice per step) take minutes even on a
    // fast machine, and the interrupt is posted as soon as the first progress arrives, so the prompt cannot finish first.
    // The node events survive the progress/preview flood because the event bus sheds those first.
    [Fact]
    public async Task Interrupt_stops_the_running_prompt_with_execution_interrupted_then_executing_null()
    {
        await using var host = await ComfyHost.StartAsync();
        await using var socket = await SocketClient.ConnectAsync(host.Address, "interrupter");
        var (status, body) = await host.PostPromptAsync(Prompts.Txt2Img(model: "tiny-sd", steps: 10000, size: 256), "interrupter");
        Assert.True(status == 200, body.ToJsonString());
        var id = body["prompt_id"]!.GetValue<string>();
        // Queue a second one behind it: it shows as pending, then runs once the first is interrupted.
        var (_, second) = await host.PostPromptAsync(Prompts.Txt2Img(steps: 2), "interrupter");
        using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            while ((await socket.ReceiveAsync(wait.Token))?["type"]?.GetValue<string>() != "progress") { }
        }

        var queue = JsonNode.Parse(await host.Client.GetStringAsync("/queue"))!;
        Assert.Equal(id, queue["queue_running"]![0]![1]!.GetValue<string>());
        Assert.Equal(second["prompt_id"]!.GetValue<string>(), queue["queue_pending"]![0]![1]!.GetValue<string>());
        using (var interrupt = await host.Client.PostAsync("/interrupt", new StringContent("")))
            Assert.True(interrupt.IsSuccessStatusCode);
        await socket.UntilDoneAsync(id, TimeSpan.FromSeconds(120));
        var mine = socket.Messages.Where(m => m["data"]?["prompt_id"]?.GetValue<string>() == id).Select(m => m["type"]!.GetValue<string>()).ToList();
        Assert.Equal("execution_interrupted", mine[^2]);
        var interrupted = socket.Messages.Last(m => m["type"]!.GetValue<string>() == "execution_interrupted")["data"]!;
        Assert.Equal("3", interrupted["node_id"]!.GetValue<string>());
        Assert.Equal("KSampler", interrupted["node_type"]!.GetValue<string>());
        var progress = socket.Messages.Where(m => m["type"]!.GetValue<string>() == "progress" && m["data"]!["prompt_id"]!.GetValue<string>() == id).ToList();
        Assert.True(progress[^1]["data"]!["value"]!.GetValue<int>() < 10000, "the prompt ran to its end instead of being interrupted");
        var history = await host.HistoryAsync(id);
        Assert.Equal("error", history["status"]!["status_str"]!.GetValue<string>());
        Assert.Equal("success", (await host.HistoryAsync(second["prompt_id"]!.GetValue<string>()))["status"]!["status_str"]!.GetValue<string>());
    }

    [Fact]
    public async Task Shapes_sd_draws_through_the_ComfyUI_graph()
    {
        await using var host = await ComfyHost.StartAsync();
        var (status, body) = await host.PostPromptAsync(Prompts.Txt2Img(model: "shapes-sd", text: "a red circle on a blue background", steps: 20, cfg: 4,
            sampler: "dpmpp_2m", scheduler: "karras", size: 64));
        Assert.True(status == 200, body.ToJsonString());
        var history = await host.HistoryAsync(body["prompt_id"]!.GetValue<string>(), TimeSpan.FromSeconds(120));
        Assert.Equal("success", history["status"]!["status_str"]!.GetValue<string>());
        var image = history["outputs"]!["9"]!["images"]![0]!;
        var (r, g, b, _, _) = Images.Mean(await host.Client.GetByteArrayAsync($"/view?filename={image["filename"]}&subfolder={image["subfolder"]}&type=output"));
        // Mostly blue background with a red disc: blue dominates, green stays low.
        Assert.True(b > r && b > g && g < 0.25, $"({r:F3}, {g:F3}, {b:F3})");
    }
}
