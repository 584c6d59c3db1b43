using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Tests.A1111;

public sealed class A1111RoutesTests
{
    [Fact]
    public async Task Models_are_listed_and_the_checkpoint_set_through_options_is_used_by_later_requests()
    {
        await using var host = await ComfyHost.StartAsync();
        var models = (await A1111Client.GetAsync(host, "sd-models")).AsArray();
        var tiny = models.Single(m => m!["title"]!.GetValue<string>() == "tiny-sd")!;
        Assert.Equal("tiny-sd", tiny["model_name"]!.GetValue<string>());
        Assert.Equal("models/tiny-sd", tiny["filename"]!.GetValue<string>());
        Assert.True(tiny.AsObject().ContainsKey("hash") && tiny.AsObject().ContainsKey("sha256") && tiny.AsObject().ContainsKey("config"));

        var options = await A1111Client.GetAsync(host, "options");
        Assert.Equal("analytic-sd", options["sd_model_checkpoint"]!.GetValue<string>());
        Assert.Equal(1, options["CLIP_stop_at_last_layers"]!.GetValue<int>());

        var (status, body) = await A1111Client.PostAsync(host, "options", new JsonObject { ["sd_model_checkpoint"] = "tiny-sd [0123456789]", ["CLIP_stop_at_last_layers"] = 2 });
        Assert.True(status == 200, body.ToJsonString());
        options = await A1111Client.GetAsync(host, "options");
        Assert.Equal("tiny-sd", options["sd_model_checkpoint"]!.GetValue<string>());
        Assert.Equal(2, options["CLIP_stop_at_last_layers"]!.GetValue<int>());

        (status, body) = await A1111Client.PostAsync(host, "options", new JsonObject { ["CLIP_stop_at_last_layers"] = 1 });
        Assert.True(status == 200, body.ToJsonString());
        var answer = await A1111Client.GenerateAsync(host, "txt2img", new JsonObject { ["prompt"] = "a cat", ["steps"] = 2, ["width"] = 64, ["height"] = 64, ["seed"] = 3 });
        Assert.Equal("tiny-sd", A1111Client.Info(answer)["sd_model_name"]!.GetValue<string>());
        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, Prompts.Txt2Img(model: "tiny-sd", text: "a cat", steps: 2, cfg: 7, seed: 3, sampler: "euler", scheduler: "normal")),
            A1111Client.Pixels(A1111Client.Png(answer)));

        (status, body) = await A1111Client.PostAsync(host, "options", new JsonObject { ["sd_model_checkpoint"] = "missing" });
        Assert.Equal(404, status);
        Assert.Equal("sd_model_checkpoint", body["field"]!.GetValue<string>());
        (status, body) = await A1111Client.PostAsync(host, "options", new JsonObject { ["sd_model_checkpoint"] = "analytic-sd", ["sd_hypernetwork"] = "x" });
        Assert.Equal(422, status);
        Assert.Equal("sd_hypernetwork", body["field"]!.GetValue<string>());
        (status, body) = await A1111Client.PostAsync(host, "options", new JsonObject { ["eta_noise_seed_delta"] = 31337 });
        Assert.Equal(422, status);
        Assert.Equal("eta_noise_seed_delta", body["field"]!.GetValue<string>());
        // A client that posts back what GET gave (a settings round trip) is admitted.
        var all = (await A1111Client.GetAsync(host, "options")).AsObject();
        all["eta_ancestral"] = 1;
        (status, body) = await A1111Client.PostAsync(host, "options", all);
        Assert.True(status == 200, body.ToJsonString());
        // A refused request changes nothing.
        Assert.Equal("tiny-sd", (await A1111Client.GetAsync(host, "options"))["sd_model_checkpoint"]!.GetValue<string>());
    }

    [Fact]
    public async Task Clip_skip_2_runs_as_CLIPSetLastLayer_minus_2()
    {
        using var home = new CheckpointHome("fd-a1111-clip-skip-");
        home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "ldm-fp16.safetensors"), "checkpoints/sd1-tiny.safetensors");
        await using var host = await ComfyHost.StartAsync(settings: home.Settings);
        var answer = await A1111Client.GenerateAsync(host, "txt2img", new JsonObject
        {
            ["prompt"] = "a cat", ["steps"] = 2, ["width"] = 64, ["height"] = 64, ["seed"] = 3,
            ["override_settings"] = new JsonObject { ["sd_model_checkpoint"] = "sd1-tiny", ["CLIP_stop_at_last_layers"] = 2 },
        });
        var info = A1111Client.Info(answer);
        Assert.Equal("sd1-tiny", info["sd_model_name"]!.GetValue<string>());
        Assert.Equal(2, info["clip_skip"]!.GetValue<int>());
        Assert.Contains("Clip skip: 2", info["infotexts"]![0]!.GetValue<string>());
        var comfy = Prompts.Txt2Img(model: "sd1-tiny.safetensors", text: "a cat", steps: 2, cfg: 7, seed: 3);
        comfy["2"] = Prompts.Node("CLIPSetLastLayer", new JsonObject { ["clip"] = Prompts.Link("4", 1), ["stop_at_clip_layer"] = -2 });
        comfy["6"]!["inputs"]!["clip"] = Prompts.Link("2", 0);
        comfy["7"]!["inputs"]!["clip"] = Prompts.Link("2", 0);
        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, comfy), A1111Client.Pixels(A1111Client.Png(answer)));
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, Prompts.Txt2Img(model: "sd1-tiny.safetensors", text: "a cat", steps: 2, cfg: 7, seed: 3)),
            A1111Client.Pixels(A1111Client.Png(answer)));
    }

    [Fact]
    public async Task Send_images_false_answers_without_images_and_save_images_keeps_them_in_the_output_folder()
    {
        await using var host = await ComfyHost.StartAsync();
        var request = new JsonObject { ["prompt"] = "a cat", ["steps"] = 1, ["width"] = 64, ["height"] = 64, ["send_images"] = false, ["save_images"] = true };
        var answer = await A1111Client.GenerateAsync(host, "txt2img", request);
        Assert.Empty(answer["images"]!.AsArray());
        var history = JsonNode.Parse(await host.Client.GetStringAsync("/history"))!.AsObject();
        var saved = history.Single().Value!["outputs"]!["save_0"]!["images"]![0]!;
        Assert.Equal("output", saved["type"]!.GetValue<string>());
        Assert.StartsWith("txt2img_", saved["filename"]!.GetValue<string>());
        Assert.Equal("SaveImage", history.Single().Value!["prompt"]![2]!["save_0"]!["class_type"]!.GetValue<string>());

        request["send_images"] = true;
        request["save_images"] = false;
        await A1111Client.GenerateAsync(host, "txt2img", request);
        history = JsonNode.Parse(await host.Client.GetStringAsync("/history"))!.AsObject();
        Assert.Equal("temp", history.Last().Value!["outputs"]!["save_0"]!["images"]![0]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Progress_reports_the_running_job_and_interrupt_stops_it_with_the_finished_images()
    {
        await using var host = await ComfyHost.StartAsync();
        var idle = await A1111Client.GetAsync(host, "progress");
        Assert.Equal(0, idle["progress"]!.GetValue<double>());
        Assert.Equal(0, idle["state"]!["job_count"]!.GetValue<int>());
        Assert.Null(idle["current_image"]);

        var generation = A1111Client.PostAsync(host, "txt2img", new JsonObject
        {
            // Slow enough (tiny-sd at 256², 150 steps, 8 images) that the interrupt lands before the last image on a loaded machine.
            ["prompt"] = "a cat", ["steps"] = 150, ["width"] = 256, ["height"] = 256, ["n_iter"] = 8,
            ["override_settings"] = new JsonObject { ["sd_model_checkpoint"] = "tiny-sd" },
        });
        JsonNode progress;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        do
        {
            await Task.Delay(20);
            progress = await A1111Client.GetAsync(host, "progress");
        }
        while (progress["state"]!["sampling_step"]!.GetValue<int>() == 0 && DateTime.UtcNow < deadline);

        Assert.True(1 == progress["state"]!["job_count"]!.GetValue<int>(), progress.ToJsonString());
        Assert.Equal(150, progress["state"]!["sampling_steps"]!.GetValue<int>());
        Assert.InRange(progress["progress"]!.GetValue<double>(), 1e-9, 0.99);
        Assert.StartsWith("task(", progress["state"]!["job"]!.GetValue<string>());

        var (status, _) = await A1111Client.PostAsync(host, "interrupt", new JsonObject());
        Assert.Equal(200, status);
        var (code, answer) = await generation;
        Assert.True(code == 200, answer.ToJsonString());
        Assert.InRange(answer["images"]!.AsArray().Count, 0, 7);
        var after = await A1111Client.GetAsync(host, "progress");
        Assert.True(after["state"]!["interrupted"]!.GetValue<bool>());
        Assert.Equal(0, after["state"]!["job_count"]!.GetValue<int>());
        // The ComfyUI layer recorded it as its own interrupt.
        var history = JsonNode.Parse(await host.Client.GetStringAsync("/history"))!.AsObject();
        Assert.Equal("execution_interrupted", history.Single().Value!["status"]!["messages"]!.AsArray().Last()![0]!.GetValue<string>());
    }

    [Fact]
    public async Task Sdapi_routes_are_behind_the_API_key_and_the_cross_origin_check()
    {
        var body = new JsonObject { ["prompt"] = "a cat", ["steps"] = 1, ["width"] = 64, ["height"] = 64 }.ToJsonString();
        await using (var keyed = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:Server:ApiKey"] = "k" }))
        {
            using var refused = await keyed.Client.PostAsync("/sdapi/v1/txt2img", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(401, (int)refused.StatusCode);
            using var options = await keyed.Client.GetAsync("/sdapi/v1/options");
            Assert.Equal(401, (int)options.StatusCode);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/sdapi/v1/txt2img") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
            request.Headers.Add("X-Api-Key", "k");
            using var admitted = await keyed.Client.SendAsync(request);
            Assert.Equal(200, (int)admitted.StatusCode);
        }

        await using var host = await ComfyHost.StartAsync();
        using var crossOrigin = new HttpRequestMessage(HttpMethod.Post, "/sdapi/v1/options") { Content = new StringContent("{\"sd_model_checkpoint\": \"tiny-sd\"}", System.Text.Encoding.UTF8, "application/json") };
        crossOrigin.Headers.Add("Origin", "https://evil.example");
        using var forbidden = await host.Client.SendAsync(crossOrigin);
        Assert.Equal(403, (int)forbidden.StatusCode);
        Assert.Equal("analytic-sd", (await A1111Client.GetAsync(host, "options"))["sd_model_checkpoint"]!.GetValue<string>());
    }

    [Fact]
    public async Task Loras_embeddings_upscalers_and_latent_modes_list_in_A1111s_shapes()
    {
        await using var host = await ComfyHost.StartAsync();
        Assert.IsType<JsonArray>(await A1111Client.GetAsync(host, "loras"));
        var embeddings = await A1111Client.GetAsync(host, "embeddings");
        Assert.IsType<JsonObject>(embeddings["loaded"]);
        Assert.IsType<JsonObject>(embeddings["skipped"]);
        Assert.Equal("None", (await A1111Client.GetAsync(host, "upscalers"))[0]!["name"]!.GetValue<string>());
        Assert.Equal(["Latent", "Latent (bicubic)", "Latent (nearest-exact)"],
            (await A1111Client.GetAsync(host, "latent-upscale-modes")).AsArray().Select(m => m!["name"]!.GetValue<string>()));
    }
}
