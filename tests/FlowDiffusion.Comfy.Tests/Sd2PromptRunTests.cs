using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// An SD 2.x checkpoint in models/checkpoints through the ComfyUI layer: CheckpointLoaderSimple runs it to an image as the
/// v-prediction model its weights say it is (ModelSamplingDiscrete eps changes the image), and CLIPSetLastLayer counts
/// layers as ComfyUI does on SD 2 (-2, its default, is the converted tower's last layer; -3 the one before; -1, OpenCLIP's
/// last layer, which SD 2 never runs, is a node error).
/// </summary>
public sealed class Sd2PromptRunTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-comfy-sd2-");

    public Sd2PromptRunTests() => _home.Add(Path.Combine(CheckpointHome.TestData, "sd2-tiny", "sd2-fp16.safetensors"), "checkpoints/sd2-tiny.safetensors");

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task Checkpoint_loader_runs_an_sd2_checkpoint_as_v_prediction_and_model_sampling_eps_overrides_it()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var prompt = Txt2Img(model: "sd2-tiny.safetensors", text: "a red circle", steps: 3, cfg: 5);
        var v = await RunAsync(host, prompt);

        prompt["30"] = new JsonObject { ["class_type"] = "ModelSamplingDiscrete", ["inputs"] = new JsonObject { ["model"] = Link("4", 0), ["sampling"] = "eps", ["zsnr"] = false } };
        prompt["3"]!["inputs"]!["model"] = Link("30", 0);
        var eps = await RunAsync(host, prompt);
        Assert.True(Math.Abs(v.R - eps.R) + Math.Abs(v.G - eps.G) + Math.Abs(v.B - eps.B) > 1e-3, $"eps drew the v image: {v} and {eps}");
    }

    [Theory]
    [InlineData(-2, null)]
    [InlineData(-3, 2L)]
    public void Clip_set_last_layer_counts_sd2_layers_as_comfyui_does(int layer, long? clipSkip)
    {
        var conversion = ApiPromptConverter.Convert(WithLastLayer(layer), Folders(), requireFiles: true);
        Assert.Empty(conversion.NodeErrors);
        var positive = conversion.Workflow!.Node(ApiPromptConverter.NodeId("6"))!;
        Assert.Equal(clipSkip, (long?)(positive.Parameter("clip_skip")?.Value as LiteralValue)?.Value);
    }

    [Fact]
    public void Clip_set_last_layer_minus_one_on_sd2_is_a_node_error()
    {
        var conversion = ApiPromptConverter.Convert(WithLastLayer(-1), Folders(), requireFiles: true);
        var error = Assert.Single(conversion.NodeErrors["11"].Errors);
        Assert.Contains("stop_at_clip_layer: -1", error.Details);
        Assert.Contains("SD 2.x", error.Details);
    }

    private ComfyFolders Folders() => new(Path.Combine(_home.Folder, "models"), _home.Folder, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));

    private static JsonObject WithLastLayer(int layer)
    {
        var prompt = Txt2Img(model: "sd2-tiny.safetensors");
        prompt["11"] = new JsonObject { ["class_type"] = "CLIPSetLastLayer", ["inputs"] = new JsonObject { ["clip"] = Link("4", 1), ["stop_at_clip_layer"] = layer } };
        prompt["6"]!["inputs"]!["clip"] = Link("11", 0);
        return prompt;
    }

    private static async Task<(double R, double G, double B)> RunAsync(ComfyHost host, JsonObject prompt)
    {
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.True(status == 200, body.ToJsonString());
        var history = await host.HistoryAsync(body["prompt_id"]!.GetValue<string>(), TimeSpan.FromSeconds(180));
        Assert.True(history["status"]!["status_str"]!.GetValue<string>() == "success", history.ToJsonString());
        var image = history["outputs"]!["9"]!["images"]![0]!;
        var png = await host.Client.GetByteArrayAsync($"/view?filename={image["filename"]}&subfolder={image["subfolder"]}&type=output");
        var (r, g, b, width, height) = Images.Mean(png);
        Assert.Equal((64, 64), (width, height));
        Assert.True(double.IsFinite(r + g + b), $"({r}, {g}, {b})");
        return (r, g, b);
    }
}
