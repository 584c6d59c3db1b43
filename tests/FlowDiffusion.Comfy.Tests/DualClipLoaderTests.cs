using System.Text.Json.Nodes;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// DualCLIPLoader (type sdxl) → clip.load of two files: the tiny SDXL checkpoint's CLIP saved by CLIPSave through /prompt,
/// placed in models/clip, and loaded by DualCLIPLoader — clip_g first or clip_l first — draws the checkpoint's own CLIP's
/// image pixel for pixel through CLIPTextEncodeSDXL and CLIPTextEncode; /object_info lists the files and the one type;
/// other types, a missing file and two clip_l files are node errors naming them.
/// </summary>
public sealed class DualClipLoaderTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-comfy-dualclip-");

    public DualClipLoaderTests() =>
        _home.Add(Path.Combine(CheckpointHome.TestData, "sdxl-tiny", "sdxl-fp16.safetensors"), "checkpoints/sdxl-tiny.safetensors");

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task A_clip_saved_by_clipsave_loads_through_dualcliploader_in_either_order_and_draws_the_checkpoints_image()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        await UNetLoaderTests.RunAsync(host, new JsonObject
        {
            ["4"] = Node("CheckpointLoaderSimple", new JsonObject { ["ckpt_name"] = "sdxl-tiny.safetensors" }),
            ["22"] = Node("CLIPSave", new JsonObject { ["clip"] = Link("4", 1), ["filename_prefix"] = "clip/ComfyUI" }),
        });
        var saved = Directory.GetFiles(Path.Combine(host.Root, "outputs"), "*.safetensors", SearchOption.AllDirectories);
        _home.Add(Assert.Single(saved, f => Path.GetFileName(f).Contains("_clip_l_", StringComparison.Ordinal)), "clip/xl_clip_l.safetensors");
        _home.Add(Assert.Single(saved, f => Path.GetFileName(f).Contains("_clip_g_", StringComparison.Ordinal)), "clip/xl_clip_g.safetensors");

        JsonObject Draw(JsonObject? loader, bool sdxlEncode)
        {
            var prompt = Txt2Img(model: "sdxl-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5);
            var clip = loader is null ? Link("4", 1) : Link("30", 0);
            if (loader is not null) prompt["30"] = loader;
            if (sdxlEncode)
            {
                prompt["6"] = Sdxl(clip, "a red circle", "a blue square");
                prompt["7"] = Sdxl(clip, "", "");
            }
            else
            {
                prompt["6"]!["inputs"]!["clip"] = clip.DeepClone();
                prompt["7"]!["inputs"]!["clip"] = clip.DeepClone();
            }

            return prompt;
        }

        foreach (var sdxlEncode in new[] { false, true })
        {
            var own = UNetLoaderTests.Pixels(await ClassMappingTests.RunForImageAsync(host, Draw(null, sdxlEncode)));
            Assert.Equal(own, UNetLoaderTests.Pixels(await ClassMappingTests.RunForImageAsync(host, Draw(Dual("xl_clip_g.safetensors", "xl_clip_l.safetensors"), sdxlEncode))));
            Assert.Equal(own, UNetLoaderTests.Pixels(await ClassMappingTests.RunForImageAsync(host, Draw(Dual("xl_clip_l.safetensors", "xl_clip_g.safetensors"), sdxlEncode))));
        }

        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/DualCLIPLoader"))!["DualCLIPLoader"]!["input"]!["required"]!;
        Assert.Contains("xl_clip_g.safetensors", info["clip_name1"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Contains("xl_clip_l.safetensors", info["clip_name2"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["sdxl"], info["type"]![0]!.AsArray().Select(n => n!.GetValue<string>()));

        // Two clip_l files load as no SDXL CLIP: the run fails at the loader, naming both files.
        var (status, body) = await host.PostPromptAsync(Draw(Dual("xl_clip_l.safetensors", "xl_clip_l.safetensors"), sdxlEncode: false));
        Assert.Equal(200, status);
        var history = await host.HistoryAsync(body["prompt_id"]!.GetValue<string>(), TimeSpan.FromSeconds(180));
        Assert.Equal("error", history["status"]!["status_str"]!.GetValue<string>());
        var failure = history.ToJsonString();
        Assert.Contains("xl_clip_l.safetensors", failure);
        Assert.Contains("both files hold the same kind of CLIP text tower", failure);
    }

    [Theory]
    [InlineData("flux", "type: 'flux' is not supported")]
    [InlineData("sdxl", "clip_name2: 'missing.safetensors' not in")]
    public async Task Other_types_and_missing_files_are_node_errors_naming_the_input(string type, string why)
    {
        _home.Add(Path.Combine(CheckpointHome.TestData, "sdxl-tiny", "sdxl-fp16.safetensors"), "clip/present.safetensors");
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var prompt = Txt2Img(model: "sdxl-tiny.safetensors", steps: 2);
        prompt["30"] = Node("DualCLIPLoader", new JsonObject { ["clip_name1"] = "present.safetensors", ["clip_name2"] = "missing.safetensors", ["type"] = type });
        if (type != "sdxl") prompt["30"]!["inputs"]!["clip_name2"] = "present.safetensors";
        prompt["6"]!["inputs"]!["clip"] = Link("30", 0);
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        var error = body["node_errors"]!["30"]!;
        Assert.Equal("DualCLIPLoader", error["class_type"]!.GetValue<string>());
        Assert.Contains(why, error["errors"]![0]!["details"]!.GetValue<string>());
    }

    private static JsonObject Dual(string first, string second) =>
        Node("DualCLIPLoader", new JsonObject { ["clip_name1"] = first, ["clip_name2"] = second, ["type"] = "sdxl" });

    private static JsonObject Sdxl(JsonArray clip, string textG, string textL) => Node("CLIPTextEncodeSDXL", new JsonObject
    {
        ["clip"] = clip.DeepClone(), ["width"] = 1024, ["height"] = 1024, ["crop_w"] = 0, ["crop_h"] = 0, ["target_width"] = 64, ["target_height"] = 64,
        ["text_g"] = textG, ["text_l"] = textL,
    });
}
