using System.Text;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Tests.Shared;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// Images saved through /prompt carry ComfyUI's metadata where ComfyUI writes it, so dropping one on ComfyUI loads its
/// workflow: SaveImage's and PreviewImage's PNGs the prompt and each extra_pnginfo entry as tEXt chunks of Python's
/// json.dumps text; SaveAnimatedPNG's too (ComfyUI's private <c>comf</c> chunks would make libpng refuse the file, and
/// ComfyUI reads text chunks from any PNG); SaveAnimatedWEBP's as EXIF text,
/// <c>prompt:…</c> in tag 0x0110 and <c>workflow:…</c> in 0x010f. The metadata travels in the run's workflow document,
/// so the save nodes of one prompt share its 256 KiB: an entry past a node's share is left out, the prompt kept.
/// </summary>
public sealed class ComfyMetadataTests
{
    private static readonly JsonObject Extra = new() { ["extra_pnginfo"] = new JsonObject { ["workflow"] = new JsonObject { ["nodes"] = new JsonArray(), ["note"] = "ü" } } };

    // Python's json.dumps of the workflow above: ", " and ": " separators, non-ASCII escaped.
    private const string WorkflowText = "{\"nodes\": [], \"note\": \"\\u00fc\"}";

    [Fact]
    public async Task SaveImage_and_PreviewImage_pngs_hold_the_prompt_and_workflow_in_text_chunks()
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = new JsonObject
        {
            ["1"] = Node("EmptyImage", new JsonObject { ["width"] = 8, ["height"] = 4, ["batch_size"] = 1, ["color"] = 0x204060 }),
            ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("1", 0), ["filename_prefix"] = "meta" }),
            ["10"] = Node("PreviewImage", new JsonObject { ["images"] = Link("1", 0) }),
        };
        var outputs = await RunAsync(host, prompt);
        foreach (var (node, type) in new[] { ("9", "output"), ("10", "temp") })
        {
            var chunks = SavedChunks.Png(await FileAsync(host, outputs[node]!["images"]![0]!, type));
            var texts = chunks.Where(c => c.Type == "tEXt").Select(c => Encoding.Latin1.GetString(c.Data).Split('\0', 2)).ToDictionary(p => p[0], p => p[1]);
            Assert.True(JsonNode.DeepEquals(prompt, JsonNode.Parse(texts["prompt"])), texts["prompt"]);
            Assert.Equal(WorkflowText, texts["workflow"]);
            Assert.Contains("image.save", texts["flowdiffusion.workflow"]);
            Assert.True(chunks.FindIndex(c => c.Type == "tEXt") < chunks.FindIndex(c => c.Type == "IDAT"));
        }
    }

    [Fact]
    public async Task SaveAnimatedWEBP_holds_them_as_exif_text_and_SaveAnimatedPNG_in_text_chunks()
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = new JsonObject
        {
            ["1"] = Node("EmptyImage", new JsonObject { ["width"] = 8, ["height"] = 4, ["batch_size"] = 2, ["color"] = 0x204060 }),
            ["9"] = Node("SaveAnimatedWEBP", new JsonObject
            {
                ["images"] = Link("1", 0), ["filename_prefix"] = "anim", ["fps"] = 6.0, ["lossless"] = true, ["quality"] = 80, ["method"] = "default",
            }),
            ["10"] = Node("SaveAnimatedPNG", new JsonObject { ["images"] = Link("1", 0), ["filename_prefix"] = "anim", ["fps"] = 6.0, ["compress_level"] = 4 }),
        };
        var outputs = await RunAsync(host, prompt);

        var riff = SavedChunks.Riff(await FileAsync(host, outputs["9"]!["images"]![0]!, "output"));
        Assert.Equal("EXIF", riff[^1].Type);
        var exif = SavedChunks.ExifAscii(riff[^1].Data);
        Assert.StartsWith("prompt:", exif[0x0110]);
        Assert.True(JsonNode.DeepEquals(prompt, JsonNode.Parse(exif[0x0110]["prompt:".Length..])), exif[0x0110]);
        Assert.Equal("workflow:" + WorkflowText, exif[0x010f]);

        var png = SavedChunks.Png(await FileAsync(host, outputs["10"]!["images"]![0]!, "output"));
        var texts = png.Where(c => c.Type == "tEXt").Select(c => Encoding.Latin1.GetString(c.Data).Split('\0', 2)).ToDictionary(p => p[0], p => p[1]);
        Assert.True(JsonNode.DeepEquals(prompt, JsonNode.Parse(texts["prompt"])));
        Assert.Equal(WorkflowText, texts["workflow"]);
        Assert.DoesNotContain(png, c => c.Type == "comf");
    }

    [Fact]
    public void The_save_nodes_of_a_prompt_share_the_metadata_room()
    {
        var folders = new ComfyFolders(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, RepositoryRoot.Path);
        var big = new JsonObject { ["workflow"] = new string('w', 100_000) };
        var one = new JsonObject
        {
            ["1"] = Node("EmptyImage", new JsonObject { ["width"] = 8, ["height"] = 4, ["batch_size"] = 1, ["color"] = 0 }),
            ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("1", 0), ["filename_prefix"] = "meta" }),
        };
        Assert.Equal(["prompt", "workflow"], Metadata(ApiPromptConverter.Convert(one, folders, requireFiles: false, extraPngInfo: big), "9").Select(p => p.Key));

        // Three writers: a third of 256 KiB each, too little for the 100,000-character workflow; the prompt stays.
        var three = (JsonObject)one.DeepClone();
        three["10"] = Node("PreviewImage", new JsonObject { ["images"] = Link("1", 0) });
        three["11"] = Node("SaveImage", new JsonObject { ["images"] = Link("1", 0), ["filename_prefix"] = "again" });
        var conversion = ApiPromptConverter.Convert(three, folders, requireFiles: false, extraPngInfo: big);
        foreach (var node in new[] { "9", "10", "11" }) Assert.Equal(["prompt"], Metadata(conversion, node).Select(p => p.Key));
    }

    [Fact]
    public void An_imported_file_carries_no_comfyui_metadata_since_its_graph_is_edited_before_it_runs()
    {
        var folders = new ComfyFolders(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, RepositoryRoot.Path);
        var prompt = new JsonObject
        {
            ["1"] = Node("EmptyImage", new JsonObject { ["width"] = 8, ["height"] = 4, ["batch_size"] = 1, ["color"] = 0 }),
            ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("1", 0), ["filename_prefix"] = "meta" }),
        };
        var (imported, problems) = ComfyWorkflowImport.Import(Encoding.UTF8.GetBytes(prompt.ToJsonString()), "imported", folders);
        Assert.Empty(problems);
        var save = imported!.Workflow!.Node(ApiPromptConverter.NodeId("9"))!;
        Assert.Equal("", ((LiteralValue)save.Parameter("metadata")!.Value).Value);
        // Queued, the same prompt carries it.
        Assert.Equal(["prompt"], Metadata(ApiPromptConverter.Convert(prompt, folders, requireFiles: false), "9").Select(p => p.Key));
    }

    private static JsonObject Metadata(PromptConversion conversion, string node) =>
        JsonNode.Parse((string)((LiteralValue)conversion.Workflow!.Node(ApiPromptConverter.NodeId(node))!.Parameter("metadata")!.Value).Value!)!.AsObject();

    private static async Task<JsonNode> RunAsync(ComfyHost host, JsonObject prompt)
    {
        var (status, body) = await host.PostPromptAsync(prompt, extraData: Extra);
        Assert.True(status == 200, body.ToJsonString());
        var entry = await host.HistoryAsync(body["prompt_id"]!.GetValue<string>());
        Assert.True(entry["status"]!["status_str"]!.GetValue<string>() == "success", entry["status"]!.ToJsonString());
        return entry["outputs"]!;
    }

    private static Task<byte[]> FileAsync(ComfyHost host, JsonNode image, string type) =>
        host.Client.GetByteArrayAsync($"/view?filename={Uri.EscapeDataString(image["filename"]!.GetValue<string>())}&subfolder={image["subfolder"]}&type={type}");
}
