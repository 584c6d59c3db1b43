using System.Buffers.Binary;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// SaveLatent and LoadLatent through /prompt on analytic-sd, whose latents are known in closed form (z = M(2c − 1) for
/// colour c, before the 0.18215 scaling factor): the files' layout read back by hand, files written by an independent
/// Python writer (tools/comfy/latent_files.py, in TestData/latents), and broken files refused with clear errors.
/// </summary>
public sealed class LatentFileTests
{
    private static readonly string TestData = Path.Combine(AppContext.BaseDirectory, "TestData", "latents");

    [Fact]
    public async Task SaveLatent_writes_ComfyUIs_layout_and_LoadLatent_gives_the_same_latent_bit_for_bit()
    {
        await using var host = await ComfyHost.StartAsync();
        var first = Txt2Img(text: "red", steps: 4);
        first["10"] = Node("SaveLatent", new JsonObject { ["samples"] = Link("3", 0), ["filename_prefix"] = "latents/round trip" });
        var workflow = new JsonObject { ["nodes"] = new JsonArray(), ["note"] = "ü" };
        var (entry, _) = await RunAsync(host, first, new JsonObject { ["extra_pnginfo"] = new JsonObject { ["workflow"] = workflow } });

        // ComfyUI's UI output: {latents: [{filename, subfolder, type}]}, the name its counter rule gives.
        var latent = Assert.Single(entry["outputs"]!["10"]!["latents"]!.AsArray())!;
        Assert.Equal("round_trip_00001_.latent", latent["filename"]!.GetValue<string>());
        Assert.EndsWith("/latents", latent["subfolder"]!.GetValue<string>());
        Assert.Equal("output", latent["type"]!.GetValue<string>());
        var bytes = await host.Client.GetByteArrayAsync(
            $"/view?filename={latent["filename"]}&subfolder={Uri.EscapeDataString(latent["subfolder"]!.GetValue<string>())}&type=output");

        var (header, data) = Parse(bytes);
        Assert.Equal(["__metadata__", "latent_format_version_0", "latent_tensor"], header.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal("F32", header["latent_format_version_0"]!["dtype"]!.GetValue<string>());
        Assert.Equal("[0]", header["latent_format_version_0"]!["shape"]!.ToJsonString());
        var tensor = header["latent_tensor"]!;
        Assert.Equal("F64", tensor["dtype"]!.GetValue<string>());
        Assert.Equal("[1,4,8,8]", tensor["shape"]!.ToJsonString());
        // The metadata is ComfyUI's: the prompt and each extra_pnginfo entry as JSON text (Python's json.dumps).
        var metadata = header["__metadata__"]!;
        Assert.True(JsonNode.DeepEquals(first, JsonNode.Parse(metadata["prompt"]!.GetValue<string>())));
        Assert.Equal("{\"nodes\": [], \"note\": \"\\u00fc\"}", metadata["workflow"]!.GetValue<string>());
        Assert.Contains("latent.save", metadata["flowdiffusion.workflow"]!.GetValue<string>());

        // The values are ComfyUI's samples, without the scaling factor: red's z = M(2c − 1) = (−0.5, 0.5, 0.5, 1.5).
        var values = Doubles(data, tensor);
        double[] red = [-0.5, 0.5, 0.5, 1.5];
        for (var i = 0; i < values.Length; i++) Assert.True(Math.Abs(values[i] - red[i / 64]) < 2e-3, $"value {i}: {values[i]}");

        // Loaded again (and saved again), the latent is the same bit for bit and decodes to the same pixels.
        File.WriteAllBytes(InputPath(host, "round trip.latent"), bytes);
        var second = new JsonObject
        {
            ["4"] = Node("CheckpointLoaderSimple", new JsonObject { ["ckpt_name"] = "analytic-sd" }),
            ["12"] = Node("LoadLatent", new JsonObject { ["latent"] = "round trip.latent" }),
            ["8"] = Node("VAEDecode", new JsonObject { ["samples"] = Link("12", 0), ["vae"] = Link("4", 2) }),
            ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("8", 0), ["filename_prefix"] = "again" }),
            ["10"] = Node("SaveLatent", new JsonObject { ["samples"] = Link("12", 0), ["filename_prefix"] = "latents/again" }),
        };
        var (again, _) = await RunAsync(host, second);
        var resaved = again["outputs"]!["10"]!["latents"]![0]!;
        var (_, data2) = Parse(await host.Client.GetByteArrayAsync(
            $"/view?filename={resaved["filename"]}&subfolder={Uri.EscapeDataString(resaved["subfolder"]!.GetValue<string>())}&type=output"));
        Assert.Equal(data, data2);
        Assert.Equal(Pixels(await ImageOf(host, entry)), Pixels(await ImageOf(host, again)));
    }

    [Theory]
    [InlineData("red_v0.latent", "red")]
    [InlineData("red_legacy.latent", "red")]
    [InlineData("blue_f16.latent", "blue")]
    public async Task A_file_written_by_an_independent_writer_loads_with_ComfyUIs_scaling(string file, string colour)
    {
        await using var host = await ComfyHost.StartAsync();
        CopyInput(host, file);
        var prompt = LoadDecodeSave(file);
        prompt["10"] = Node("SaveLatent", new JsonObject { ["samples"] = Link("12", 0), ["filename_prefix"] = "latents/check" });
        var (entry, _) = await RunAsync(host, prompt);

        // Decoded: the colour itself, so the legacy file's 0.18215 was divided out and the others' VAE factor applied.
        var (r, g, b, _, _) = Images.Mean(await ImageOf(host, entry));
        var expected = colour == "red" ? (1.0, 0.0, 0.0) : (0.0, 0.0, 1.0);
        Assert.True(Math.Abs(r - expected.Item1) < 0.01 && g < 0.01 && Math.Abs(b - expected.Item3) < 0.01, $"{file}: ({r:F3}, {g:F3}, {b:F3})");

        // Saved again: the file's latents as ComfyUI's samples (the writer's z) to float32 rounding.
        var saved = entry["outputs"]!["10"]!["latents"]![0]!;
        var (header, data) = Parse(await host.Client.GetByteArrayAsync(
            $"/view?filename={saved["filename"]}&subfolder={Uri.EscapeDataString(saved["subfolder"]!.GetValue<string>())}&type=output"));
        var z = JsonNode.Parse(File.ReadAllText(Path.Combine(TestData, "expected.json")))![colour]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        var values = Doubles(data, header["latent_tensor"]!);
        for (var i = 0; i < values.Length; i++) Assert.True(Math.Abs(values[i] - z[i / 64]) <= 2e-7 * Math.Abs(z[i / 64]), $"{file} value {i}: {values[i]:R} vs {z[i / 64]}");
    }

    [Fact]
    public async Task Broken_files_fail_their_prompt_with_a_message_naming_node_input_and_file_and_the_server_keeps_working()
    {
        await using var host = await ComfyHost.StartAsync();
        (string File, string Says)[] cases =
        [
            ("bad_header_length.latent", "the header claims 1048576 bytes"),
            ("bad_offsets.latent", "data_offsets"),
            ("bad_dtype.latent", "'latent_tensor' is I32"),
            ("bad_shape.latent", "shape [4,8,8]"),
            ("bad_key.latent", "has no 'latent_tensor' tensor"),
        ];
        foreach (var (file, says) in cases)
        {
            CopyInput(host, file);
            var (status, body) = await host.PostPromptAsync(LoadDecodeSave(file));
            Assert.True(status == 200, body.ToJsonString());
            var entry = await host.HistoryAsync(body["prompt_id"]!.GetValue<string>());
            Assert.Equal("error", entry["status"]!["status_str"]!.GetValue<string>());
            var error = entry["status"]!["messages"]!.AsArray().Single(m => m![0]!.GetValue<string>() == "execution_error")![1]!;
            Assert.True(error["node_id"]?.GetValue<string>() == "12", error.ToJsonString());
            Assert.Equal("LoadLatent", error["node_type"]!.GetValue<string>());
            var message = error["exception_message"]!.GetValue<string>();
            Assert.Contains("path '", message);
            Assert.Contains(file + "'", message);
            Assert.Contains(says, message);
        }

        // Names outside the input folder are refused before anything runs, as ComfyUI's LoadLatent validation does.
        foreach (var name in new[] { "../x.latent", "/etc/passwd", "missing.latent" })
        {
            var (status, body) = await host.PostPromptAsync(LoadDecodeSave(name));
            Assert.Equal(400, status);
            var error = body["node_errors"]!["12"]!["errors"]![0]!;
            Assert.Equal("custom_validation_failed", error["type"]!.GetValue<string>());
            Assert.Equal($"latent - Invalid latent file: {name}", error["details"]!.GetValue<string>());
        }

        CopyInput(host, "red_v0.latent");
        var (entryAfter, _) = await RunAsync(host, LoadDecodeSave("red_v0.latent"));
        Assert.Equal("success", entryAfter["status"]!["status_str"]!.GetValue<string>());
    }

    [Fact]
    public async Task LoadLatent_lists_the_latent_files_of_the_input_folder()
    {
        await using var host = await ComfyHost.StartAsync();
        CopyInput(host, "red_v0.latent");
        CopyInput(host, "blue_f16.latent");
        File.WriteAllBytes(InputPath(host, "photo.png"), Images.SolidPng(8, 8, SKColors.Red));
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/LoadLatent"))!["LoadLatent"]!;
        Assert.Equal("[[\"blue_f16.latent\",\"red_v0.latent\"]]", info["input"]!["required"]!["latent"]!.ToJsonString());
        Assert.Equal("[\"LATENT\"]", info["output"]!.ToJsonString());
        var save = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/SaveLatent"))!["SaveLatent"]!;
        Assert.Equal("latents/ComfyUI", save["input"]!["required"]!["filename_prefix"]![1]!["default"]!.GetValue<string>());
        Assert.True(save["output_node"]!.GetValue<bool>());
    }

    [Fact]
    public void The_files_scaling_factor_comes_from_the_nearest_VAE_in_the_prompt()
    {
        var folders = new ComfyFolders(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, TestData);
        // SaveLatent after a KSampler: its model's checkpoint is nearest; a VAELoader elsewhere in the graph is farther.
        var prompt = Txt2Img();
        prompt["20"] = Node("VAELoader", new JsonObject { ["vae_name"] = "other.safetensors" });
        prompt["10"] = Node("SaveLatent", new JsonObject { ["samples"] = Link("3", 0), ["filename_prefix"] = "x/../y" });
        var refused = ApiPromptConverter.Convert(prompt, folders, requireFiles: false);
        Assert.Equal("value_not_valid", Assert.Single(refused.NodeErrors["10"].Errors).Type);
        prompt["10"]!["inputs"]!["filename_prefix"] = "a/./b c/name";
        var save = ApiPromptConverter.Convert(prompt, folders, requireFiles: false).Workflow!.Node(ApiPromptConverter.NodeId("10"))!;
        Assert.Equal("latent.save", save.Type);
        Assert.Equal((ApiPromptConverter.NodeId("4"), "vae"), (save.Edge("vae")!.SourceNode, save.Edge("vae")!.SourceOutput));
        Assert.Equal("a/b_c", ((LiteralValue)save.Parameter("folder")!.Value).Value);
        Assert.Equal("name", ((LiteralValue)save.Parameter("prefix")!.Value).Value);

        // ComfyUI's metadata rides in the run's workflow document: an entry that would pass 256 KiB is left out.
        var big = new JsonObject { ["workflow"] = new string('w', ApiPromptConverter.MaxMetadataCharacters), ["small"] = "s" };
        var withInfo = ApiPromptConverter.Convert(prompt, folders, requireFiles: false, extraPngInfo: big).Workflow!.Node(ApiPromptConverter.NodeId("10"))!;
        var metadata = JsonNode.Parse((string)((LiteralValue)withInfo.Parameter("metadata")!.Value).Value!)!.AsObject();
        Assert.Equal(["prompt", "small"], metadata.Select(p => p.Key));
        Assert.Equal("\"s\"", metadata["small"]!.GetValue<string>());

        // LoadLatent: the VAE of the VAEDecode it feeds, here a VAELoader's rather than the checkpoint's.
        var load = LoadDecodeSave("red_v0.latent");
        load["20"] = Node("VAELoader", new JsonObject { ["vae_name"] = "other.safetensors" });
        load["8"]!["inputs"]!["vae"] = Link("20", 0);
        var loader = ApiPromptConverter.Convert(load, folders, requireFiles: false).Workflow!.Node(ApiPromptConverter.NodeId("12"))!;
        Assert.Equal("latent.load", loader.Type);
        Assert.Equal(ApiPromptConverter.NodeId("20"), loader.Edge("vae")!.SourceNode);

        // No VAE anywhere: latent.save's own scaling factor (SD 1.x's).
        var empty = new JsonObject
        {
            ["5"] = Node("EmptyLatentImage", new JsonObject { ["width"] = 64, ["height"] = 64, ["batch_size"] = 1 }),
            ["10"] = Node("SaveLatent", new JsonObject { ["samples"] = Link("5", 0) }),
        };
        var alone = ApiPromptConverter.Convert(empty, folders, requireFiles: false).Workflow!.Node(ApiPromptConverter.NodeId("10"))!;
        Assert.Null(alone.Edge("vae"));
        Assert.Equal("latents", ((LiteralValue)alone.Parameter("folder")!.Value).Value);
        Assert.Equal("ComfyUI", ((LiteralValue)alone.Parameter("prefix")!.Value).Value);
    }

    [Fact]
    public void A_UI_workflow_with_LoadLatent_and_SaveLatent_imports_their_widgets()
    {
        var folders = new ComfyFolders(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, TestData);
        var ui = """
            { "nodes": [
                { "id": 4, "type": "CheckpointLoaderSimple", "pos": [0, 0], "mode": 0, "widgets_values": ["analytic-sd"],
                  "outputs": [ { "name": "MODEL", "type": "MODEL", "links": [] }, { "name": "CLIP", "type": "CLIP", "links": [] }, { "name": "VAE", "type": "VAE", "links": [2] } ] },
                { "id": 12, "type": "LoadLatent", "pos": [0, 200], "mode": 0, "widgets_values": ["red_v0.latent"],
                  "outputs": [ { "name": "LATENT", "type": "LATENT", "links": [1, 3] } ] },
                { "id": 8, "type": "VAEDecode", "pos": [300, 0], "mode": 0,
                  "inputs": [ { "name": "samples", "type": "LATENT", "link": 1 }, { "name": "vae", "type": "VAE", "link": 2 } ],
                  "outputs": [ { "name": "IMAGE", "type": "IMAGE", "links": [4] } ] },
                { "id": 10, "type": "SaveLatent", "pos": [300, 200], "mode": 0, "widgets_values": ["latents/imported"],
                  "inputs": [ { "name": "samples", "type": "LATENT", "link": 3 } ] },
                { "id": 9, "type": "SaveImage", "pos": [600, 0], "mode": 0, "widgets_values": ["ComfyUI"],
                  "inputs": [ { "name": "images", "type": "IMAGE", "link": 4 } ] } ],
              "links": [ [1, 12, 0, 8, 0, "LATENT"], [2, 4, 2, 8, 1, "VAE"], [3, 12, 0, 10, 0, "LATENT"], [4, 8, 0, 9, 0, "IMAGE"] ] }
            """;
        var (conversion, problems) = ComfyWorkflowImport.Import(Encoding.UTF8.GetBytes(ui), "latents-ui", folders);
        Assert.Empty(problems);
        var workflow = conversion!.Workflow!;
        var load = workflow.Node(ApiPromptConverter.NodeId("12"))!;
        Assert.Equal(Path.Combine(TestData, "red_v0.latent"), ((LiteralValue)load.Parameter("path")!.Value).Value);
        Assert.Equal(ApiPromptConverter.NodeId("4"), load.Edge("vae")!.SourceNode);
        var save = workflow.Node(ApiPromptConverter.NodeId("10"))!;
        Assert.Equal(("latents", "imported"), (((LiteralValue)save.Parameter("folder")!.Value).Value, ((LiteralValue)save.Parameter("prefix")!.Value).Value));
    }

    private static JsonObject LoadDecodeSave(string file) => new()
    {
        ["4"] = Node("CheckpointLoaderSimple", new JsonObject { ["ckpt_name"] = "analytic-sd" }),
        ["12"] = Node("LoadLatent", new JsonObject { ["latent"] = file }),
        ["8"] = Node("VAEDecode", new JsonObject { ["samples"] = Link("12", 0), ["vae"] = Link("4", 2) }),
        ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("8", 0), ["filename_prefix"] = "decoded" }),
    };

    private static void CopyInput(ComfyHost host, string file) => File.Copy(Path.Combine(TestData, file), InputPath(host, file), overwrite: true);

    private static string InputPath(ComfyHost host, string file)
    {
        var folder = Path.Combine(host.Root, "data", "comfy-input");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, file);
    }

    private static async Task<(JsonNode Entry, string Id)> RunAsync(ComfyHost host, JsonObject prompt, JsonObject? extraData = null)
    {
        var body = new JsonObject { ["prompt"] = prompt.DeepClone() };
        if (extraData is not null) body["extra_data"] = extraData;
        using var response = await host.Client.PostAsJsonAsync("/prompt", body);
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(response.IsSuccessStatusCode, answer.ToJsonString());
        var id = answer["prompt_id"]!.GetValue<string>();
        var entry = await host.HistoryAsync(id);
        Assert.True(entry["status"]!["status_str"]!.GetValue<string>() == "success", entry["status"]!.ToJsonString());
        return (entry, id);
    }

    private static Task<byte[]> ImageOf(ComfyHost host, JsonNode entry)
    {
        var image = entry["outputs"]!["9"]!["images"]![0]!;
        return host.Client.GetByteArrayAsync(
            $"/view?filename={image["filename"]}&subfolder={Uri.EscapeDataString(image["subfolder"]!.GetValue<string>())}&type=output");
    }

    private static uint[] Pixels(byte[] png)
    {
        using var bitmap = SKBitmap.Decode(png);
        return bitmap.Pixels.Select(p => (uint)p).ToArray();
    }

    // A safetensors file read by hand: the 8-byte little-endian header length, the JSON header, the data section.
    private static (JsonObject Header, byte[] Data) Parse(byte[] file)
    {
        var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(file, 8, length))!.AsObject();
        return (header, file[(8 + length)..]);
    }

    private static double[] Doubles(byte[] data, JsonNode tensor)
    {
        var begin = tensor["data_offsets"]![0]!.GetValue<int>();
        var end = tensor["data_offsets"]![1]!.GetValue<int>();
        return Enumerable.Range(0, (end - begin) / 8).Select(i => BinaryPrimitives.ReadDoubleLittleEndian(data.AsSpan(begin + i * 8))).ToArray();
    }
}
