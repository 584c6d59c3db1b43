using System.Text.Json.Nodes;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// TAESD through the ComfyUI layer, with models/vae_approx holding make_taesd.py's deterministic halves (TaesdWeights):
/// /object_info lists VAELoader's <c>taesd</c> and <c>taesdxl</c>; a txt2img prompt decodes with VAELoader <c>taesd</c>;
/// with <c>PreviewMethod auto</c> the sampler's websocket previews are TAESD's decode at image size, and the frame after
/// step 1 of 2 is the image the same prompt stopped after step 1 (KSamplerAdvanced, leftover noise) decodes to.
/// <c>taesd3</c> and a missing half are node errors naming <c>vae_name</c>.
/// </summary>
public sealed class TaesdMappingTests
{
    // The models folder: TAESD's files and a copy of the shipped analytic-sd.
    private static string Models()
    {
        TaesdWeights.Shared();
        var models = TaesdWeights.ModelsFolder;
        var copy = Path.Combine(models, "analytic-sd");
        if (!File.Exists(Path.Combine(copy, "model_index.json")))
        {
            var source = Path.Combine(RepositoryRoot.Path, "models", "analytic-sd");
            foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
            {
                var target = Path.Combine(copy, Path.GetRelativePath(source, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target, overwrite: true);
            }
        }

        return models;
    }

    private static Dictionary<string, string?> Settings(string preview = "latent2rgb") => new()
    {
        ["FlowDiffusion:ModelsFolder"] = Models(),
        ["FlowDiffusion:Server:PreviewMethod"] = preview,
    };

    [Fact]
    public async Task Object_info_lists_taesd_and_taesdxl_after_the_vae_files()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/VAELoader"))!;
        var names = info["VAELoader"]!["input"]!["required"]!["vae_name"]![0]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Equal(["taesd", "taesdxl"], names.TakeLast(2));
    }

    [Fact]
    public async Task Txt2img_decodes_with_taesd_and_auto_previews_are_taesd_decodes_of_the_steps_latents()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings("auto"));
        await using var socket = await SocketClient.ConnectAsync(host.Client.BaseAddress!, "taesd-client");
        var prompt = Prompts.Txt2Img(steps: 2);
        prompt["10"] = Prompts.Node("VAELoader", new JsonObject { ["vae_name"] = "taesd" });
        prompt["8"]!["inputs"]!["vae"] = Prompts.Link("10", 0);
        var (status, body) = await host.PostPromptAsync(prompt, "taesd-client");
        Assert.True(status == 200, body.ToJsonString());
        var id = body["prompt_id"]!.GetValue<string>();
        await socket.UntilDoneAsync(id, TimeSpan.FromSeconds(120));
        var history = await host.HistoryAsync(id);
        Assert.True(history["status"]!["status_str"]!.GetValue<string>() == "success", history["status"]!.ToJsonString());
        var image = history["outputs"]!["9"]!["images"]![0]!;
        var final = await host.Client.GetByteArrayAsync($"/view?filename={Uri.EscapeDataString(image["filename"]!.GetValue<string>())}&subfolder={image["subfolder"]}&type={image["type"]}");
        Assert.Equal((64, 64), (Images.Mean(final).Width, Images.Mean(final).Height));

        // One preview (step 1 of 2), decoded at image size rather than the 8×8 linear approximation.
        var frame = Assert.Single(socket.Frames);
        Assert.Equal((1, 2), (frame.Type, frame.Format));
        Assert.Equal(64, Images.Mean(frame.Image).Width);

        // The same prompt stopped after step 1 with its noise left, decoded by TAESD: the preview's latents.
        var stopped = Prompts.Txt2Img(steps: 2);
        stopped["3"] = Prompts.Node("KSamplerAdvanced", new JsonObject
        {
            ["model"] = Prompts.Link("4", 0), ["positive"] = Prompts.Link("6", 0), ["negative"] = Prompts.Link("7", 0), ["latent_image"] = Prompts.Link("5", 0),
            ["add_noise"] = "enable", ["noise_seed"] = 5, ["steps"] = 2, ["cfg"] = 1, ["sampler_name"] = "euler", ["scheduler"] = "normal",
            ["start_at_step"] = 0, ["end_at_step"] = 1, ["return_with_leftover_noise"] = "enable",
        });
        stopped["10"] = Prompts.Node("VAELoader", new JsonObject { ["vae_name"] = "taesd" });
        stopped["8"]!["inputs"]!["vae"] = Prompts.Link("10", 0);
        var expected = ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, stopped));
        var preview = ClassMappingTests.Pixels(frame.Image);
        Assert.Equal(expected.Length, preview.Length);
        var worst = expected.Zip(preview, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= 1, $"the preview differs from the step's TAESD decode by up to {worst} levels");
        // And not the final image: the preview shows the step, not the end.
        Assert.True(ClassMappingTests.Pixels(final).Zip(preview, (a, b) => Math.Abs(a - b)).Max() > 8);
    }

    [Fact]
    public async Task Latent2rgb_previews_stay_at_latent_size_with_taesd_present()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        await using var socket = await SocketClient.ConnectAsync(host.Client.BaseAddress!, "linear-client");
        var (status, body) = await host.PostPromptAsync(Prompts.Txt2Img(steps: 2), "linear-client");
        Assert.True(status == 200, body.ToJsonString());
        await socket.UntilDoneAsync(body["prompt_id"]!.GetValue<string>(), TimeSpan.FromSeconds(60));
        Assert.Equal(8, Images.Mean(Assert.Single(socket.Frames).Image).Width);
    }

    [Theory]
    [InlineData("taesd3", "16-channel")]
    [InlineData("taef1", "16-channel")]
    public async Task Sd3_and_flux_taesds_are_refused_naming_vae_name(string name, string expected)
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var prompt = Prompts.Txt2Img(steps: 1);
        prompt["10"] = Prompts.Node("VAELoader", new JsonObject { ["vae_name"] = name });
        prompt["8"]!["inputs"]!["vae"] = Prompts.Link("10", 0);
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        var error = body["node_errors"]!["10"]!["errors"]![0]!;
        Assert.Equal("vae_name", error["extra_info"]!["input_name"]!.GetValue<string>());
        Assert.Contains(expected, error["details"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_missing_encoder_is_a_node_error_naming_the_file_and_the_name_is_not_listed()
    {
        var root = Path.Combine(Path.GetTempPath(), "fd-taesd-" + Guid.NewGuid().ToString("N"));
        var approx = Path.Combine(root, "vae_approx");
        Directory.CreateDirectory(approx);
        TaesdWeights.WriteDecoder(Path.Combine(approx, "taesd_decoder.safetensors"));
        try
        {
            await using var host = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:ModelsFolder"] = root });
            var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/VAELoader"))!;
            Assert.DoesNotContain("taesd", info["VAELoader"]!["input"]!["required"]!["vae_name"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
            var prompt = new JsonObject
            {
                ["10"] = Prompts.Node("VAELoader", new JsonObject { ["vae_name"] = "taesd" }),
                ["11"] = Prompts.Node("EmptyLatentImage", new JsonObject { ["width"] = 64, ["height"] = 64, ["batch_size"] = 1 }),
                ["8"] = Prompts.Node("VAEDecode", new JsonObject { ["samples"] = Prompts.Link("11", 0), ["vae"] = Prompts.Link("10", 0) }),
                ["9"] = Prompts.Node("SaveImage", new JsonObject { ["images"] = Prompts.Link("8", 0), ["filename_prefix"] = "x" }),
            };
            var (status, body) = await host.PostPromptAsync(prompt);
            Assert.Equal(400, status);
            var error = body["node_errors"]!["10"]!["errors"]![0]!;
            Assert.Equal("vae_name", error["extra_info"]!["input_name"]!.GetValue<string>());
            Assert.Contains("taesd_encoder is missing", error["details"]!.GetValue<string>());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
