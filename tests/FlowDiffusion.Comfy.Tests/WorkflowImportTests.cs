using System.Buffers.Binary;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using SkiaSharp;

namespace FlowDiffusion.Comfy.Tests;

public sealed class WorkflowImportTests
{
    private static readonly ComfyFolders Folders = new(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));

    private static byte[] UiFile => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "txt2img-ui.json"));

    [Fact]
    public void Ui_format_follows_reroutes_bypass_and_primitives_drops_muted_nodes_and_keeps_positions_and_groups()
    {
        var (conversion, problems) = ComfyWorkflowImport.Import(UiFile, "txt2img-ui", Folders);
        Assert.Empty(problems);
        var workflow = conversion!.Workflow!;
        // The bypassed CLIPSetLastLayer(-2) is skipped (no CLIP skip), the Reroute followed to the loader.
        Assert.Null(workflow.Node(ApiPromptConverter.NodeId("10")));
        Assert.Equal("n4", workflow.Node("n6__tokens")!.Edge("tokenizer")!.SourceNode);
        Assert.Null(workflow.Node("n6")!.Parameter("clip_skip"));
        var sampler = workflow.Node("n3")!;
        Assert.Equal("diffusion.ksampler", sampler.Type);
        Assert.Equal(42L, ((LiteralValue)sampler.Parameter("seed")!.Value).Value);
        Assert.Equal(6L, ((LiteralValue)sampler.Parameter("steps")!.Value).Value);
        Assert.Equal("normal", ((LiteralValue)sampler.Parameter("scheduler")!.Value).Value);
        // Muted nodes are not converted: one SaveImage, no LoRA.
        Assert.Single(workflow.Nodes, n => n.Type == "image.save");
        Assert.Equal(["9"], conversion.OutputNodes);
        var positions = workflow.Editor!.Positions.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(new NodePosition(26, 474), positions["n4"]);
        Assert.Equal(new NodePosition(863, 186), positions["n3"]);
        // The group is an editor group now, not part of the titles.
        Assert.Equal("CLIPTextEncode #6", workflow.Node("n6")!.Title);
        Assert.Equal(new EditorGroup("Prompts", 400, 100, 460, 500, "#3f789e"), Assert.Single(workflow.Editor.Groups!));
        // The YAML round-trips through our reader.
        var yaml = WorkflowYamlWriter.Write(workflow);
        var read = WorkflowYamlReader.Read(yaml, "txt2img-ui.yaml");
        Assert.False(read.HasErrors, string.Join("; ", read.Diagnostics));
    }

    [Fact]
    public void Ui_format_groups_reroutes_colours_and_collapsed_and_pinned_flags_land_in_the_editor_section()
    {
        var ui = (JsonObject)JsonNode.Parse(UiFile)!;
        JsonObject Node(int id) => ui["nodes"]!.AsArray().OfType<JsonObject>().First(n => n["id"]!.GetValue<int>() == id);
        Node(3)["color"] = "#223";
        Node(3)["bgcolor"] = "#335";
        Node(3)["flags"] = new JsonObject { ["collapsed"] = true };
        Node(8)["flags"] = new JsonObject { ["pinned"] = true };
        Node(5)["bgcolor"] = "#653";

        var (conversion, problems) = ComfyWorkflowImport.Import(Encoding.UTF8.GetBytes(ui.ToJsonString()), "canvas", Folders);

        Assert.Empty(problems);
        var workflow = conversion!.Workflow!;
        var editor = workflow.Editor!;
        Assert.Equal(new EditorGroup("Prompts", 400, 100, 460, 500, "#3f789e"), Assert.Single(editor.Groups!));
        Assert.Equal(new NodeColor("#223", "#335"), editor.ColorOf("n3"));
        Assert.Equal(new NodeColor(null, "#653"), editor.ColorOf("n5"));
        Assert.Null(editor.ColorOf("n6"));
        Assert.Equal(["n3"], editor.Collapsed!);
        Assert.Equal(["n8"], editor.Pinned!);
        // Reroute 11 (at 330, 300; 75×26) is a point at its centre on both prompts' CLIP links, which stay direct edges.
        Assert.Equal(new NodePosition(367.5, 313), Assert.Single(editor.Reroutes!).Value);
        Assert.Equal(["r11"], editor.RouteOf("n6__tokens", "tokenizer"));
        Assert.Equal(["r11"], editor.RouteOf("n7__tokens", "tokenizer"));
        Assert.Equal("n4", workflow.Node("n6__tokens")!.Edge("tokenizer")!.SourceNode);
        Assert.Empty(editor.RouteOf("n3", "latent_image"));
        Assert.DoesNotContain(workflow.Nodes, n => n.Type.Contains("reroute", StringComparison.OrdinalIgnoreCase));
        // Saved and read back, byte for byte.
        var yaml = WorkflowYamlWriter.Write(workflow);
        var read = WorkflowYamlReader.Read(yaml, "canvas.yaml");
        Assert.False(read.HasErrors, string.Join("; ", read.Diagnostics));
        Assert.Equal(yaml, WorkflowYamlWriter.Write(read.Workflow!));
    }

    [Fact]
    public void Native_reroutes_land_on_their_links_in_chain_order_and_leave_the_graph_unchanged()
    {
        // The newer frontend (schema 0.4): reroutes in extra.reroutes, each link's last reroute in extra.linkExtensions,
        // a reroute's parentId is the one before it towards the origin.
        var ui = (JsonObject)JsonNode.Parse(UiFile)!;
        ui["extra"] = JsonNode.Parse("""
            {
              "reroutes": [
                { "id": 2, "parentId": 1, "pos": [700, 420], "linkIds": [8] },
                { "id": 1, "pos": [400, 600], "linkIds": [8] },
                { "id": 3, "pos": [820, 250.5], "linkIds": [4, 6] },
                { "id": 4, "pos": [300, 380], "linkIds": [3] },
                { "id": 5, "pos": [0, 0], "linkIds": [], "floating": { "slotType": "output" } }
              ],
              "linkExtensions": [ { "id": 8, "parentId": 2 }, { "id": 4, "parentId": 3 }, { "id": 6, "parentId": 3 }, { "id": 3, "parentId": 4 } ]
            }
            """);

        var (conversion, problems) = ComfyWorkflowImport.Import(Encoding.UTF8.GetBytes(ui.ToJsonString()), "native", Folders);

        Assert.Empty(problems);
        var workflow = conversion!.Workflow!;
        var editor = workflow.Editor!;
        // A chain of two on the VAE link, source first.
        Assert.Equal(["rr1", "rr2"], editor.RouteOf("n8", "vae"));
        // One reroute shared by both conditioning links.
        Assert.Equal(["rr3"], editor.RouteOf("n3__guider", "positive"));
        Assert.Equal(["rr3"], editor.RouteOf("n3__guider", "negative"));
        // A native reroute before the bypassed node and the Reroute node: both on the CLIP links, in order.
        Assert.Equal(["rr4", "r11"], editor.RouteOf("n6__tokens", "tokenizer"));
        Assert.Equal(["rr4", "r11"], editor.RouteOf("n7__tokens", "tokenizer"));
        Assert.Empty(editor.RouteOf("n3", "latent_image"));
        // Native reroute positions are their centres; the floating one, on no link, is dropped.
        Assert.Equal(new NodePosition(700, 420), editor.RerouteAt("rr2"));
        Assert.Equal(new NodePosition(820, 250.5), editor.RerouteAt("rr3"));
        Assert.Null(editor.RerouteAt("rr5"));
        Assert.Equal(5, editor.Reroutes!.Count);
        // The graph that runs is the one converted without native reroutes.
        var (plain, _) = ComfyWorkflowImport.Import(UiFile, "native", Folders);
        Assert.Equal(WorkflowYamlWriter.Write(plain!.Workflow! with { Editor = null }), WorkflowYamlWriter.Write(workflow with { Editor = null }));
        // Saved and read back, byte for byte.
        var yaml = WorkflowYamlWriter.Write(workflow);
        var read = WorkflowYamlReader.Read(yaml, "native.yaml");
        Assert.False(read.HasErrors, string.Join("; ", read.Diagnostics));
        Assert.Equal(yaml, WorkflowYamlWriter.Write(read.Workflow!));
    }

    [Fact]
    public void Schema_1_object_links_with_their_own_parentId_and_top_level_reroutes_convert_the_same_way()
    {
        var ui = (JsonObject)JsonNode.Parse(UiFile)!;
        ui["version"] = 1;
        var links = new JsonArray();
        foreach (var link in ui["links"]!.AsArray().OfType<JsonArray>())
        {
            var item = new JsonObject
            {
                ["id"] = link[0]!.DeepClone(), ["origin_id"] = link[1]!.DeepClone(), ["origin_slot"] = link[2]!.DeepClone(),
                ["target_id"] = link[3]!.DeepClone(), ["target_slot"] = link[4]!.DeepClone(), ["type"] = link[5]!.DeepClone(),
            };
            if (link[0]!.GetValue<int>() == 8) item["parentId"] = 7;
            links.Add(item);
        }
        ui["links"] = links;
        ui["reroutes"] = JsonNode.Parse("""[ { "id": 7, "parentId": 6, "pos": [10, 20] }, { "id": 6, "pos": [30, 40] } ]""");

        var (conversion, problems) = ComfyWorkflowImport.Import(Encoding.UTF8.GetBytes(ui.ToJsonString()), "schema1", Folders);

        Assert.Empty(problems);
        var workflow = conversion!.Workflow!;
        Assert.Equal(["rr6", "rr7"], workflow.Editor!.RouteOf("n8", "vae"));
        Assert.Equal(new NodePosition(30, 40), workflow.Editor.RerouteAt("rr6"));
        var (plain, _) = ComfyWorkflowImport.Import(UiFile, "schema1", Folders);
        Assert.Equal(WorkflowYamlWriter.Write(plain!.Workflow! with { Editor = null }), WorkflowYamlWriter.Write(workflow with { Editor = null }));
    }

    [Fact]
    public void Ui_format_mask_and_model_only_lora_widgets_land_on_their_parameters_in_comfyuis_order()
    {
        var ui = (JsonObject)JsonNode.Parse(UiFile)!;
        var nodes = ui["nodes"]!.AsArray();
        var links = ui["links"]!.AsArray();
        nodes.Add(UiNode(30, "SolidMask", [0.5, 64, 32]));
        nodes.Add(UiNode(31, "GrowMask", [-3, false], ("mask", 901)));
        nodes.Add(UiNode(32, "ThresholdMask", [0.25], ("mask", 902)));
        nodes.Add(UiNode(33, "InvertMask", [], ("mask", 903)));
        links.Add(new JsonArray(901, 30, 0, 31, 0, "MASK"));
        links.Add(new JsonArray(902, 31, 0, 32, 0, "MASK"));
        links.Add(new JsonArray(903, 32, 0, 33, 0, "MASK"));
        // The model-only LoRA between the checkpoint and the sampler.
        var sampler = nodes.First(n => n!["type"]!.GetValue<string>() == "KSampler")!;
        var modelInput = sampler["inputs"]!.AsArray().First(i => i!["name"]!.GetValue<string>() == "model")!;
        var modelLink = links.First(l => l![0]!.GetValue<int>() == modelInput["link"]!.GetValue<int>())!.AsArray();
        nodes.Add(UiNode(34, "LoraLoaderModelOnly", ["styles/ink.safetensors", 0.7], ("model", 904)));
        links.Add(new JsonArray(904, modelLink[1]!.GetValue<int>(), modelLink[2]!.GetValue<int>(), 34, 0, "MODEL"));
        links.Add(new JsonArray(905, 34, 0, sampler["id"]!.GetValue<int>(), 0, "MODEL"));
        modelInput["link"] = 905;
        // The masks reach the output through a noise mask on the sampler's latent (only what an output needs is converted).
        var latentInput = sampler["inputs"]!.AsArray().First(i => i!["name"]!.GetValue<string>() == "latent_image")!;
        var latentLink = links.First(l => l![0]!.GetValue<int>() == latentInput["link"]!.GetValue<int>())!.AsArray();
        nodes.Add(UiNode(35, "SetLatentNoiseMask", [], ("samples", 906), ("mask", 907)));
        links.Add(new JsonArray(906, latentLink[1]!.GetValue<int>(), latentLink[2]!.GetValue<int>(), 35, 0, "LATENT"));
        links.Add(new JsonArray(907, 33, 0, 35, 1, "MASK"));
        links.Add(new JsonArray(908, 35, 0, sampler["id"]!.GetValue<int>(), 3, "LATENT"));
        latentInput["link"] = 908;

        var (conversion, problems) = ComfyWorkflowImport.Import(Encoding.UTF8.GetBytes(ui.ToJsonString()), "masks-ui", Folders);

        var workflow = conversion!.Workflow!;
        object? Parameter(string comfyId, string name) => ((LiteralValue)workflow.Node(ApiPromptConverter.NodeId(comfyId))!.Parameter(name)!.Value).Value;
        Assert.Equal("mask.solid", workflow.Node("n30")!.Type);
        Assert.Equal((0.5, 64L, 32L), ((double)Parameter("30", "value")!, (long)Parameter("30", "width")!, (long)Parameter("30", "height")!));
        Assert.Equal("mask.expand", workflow.Node("n31")!.Type);
        Assert.Equal((-3L, false), ((long)Parameter("31", "expand")!, (bool)Parameter("31", "tapered_corners")!));
        Assert.Equal("n30", workflow.Node("n31")!.Edge("mask")!.SourceNode);
        Assert.Equal(0.25, (double)Parameter("32", "value")!);
        Assert.Equal("mask.invert", workflow.Node("n33")!.Type);
        Assert.Equal("n32", workflow.Node("n33")!.Edge("mask")!.SourceNode);
        Assert.Equal("lora.apply", workflow.Node("n34")!.Type);
        Assert.Equal(0.7, (double)Parameter("34", "strength_model")!);
        Assert.Null(workflow.Node("n34")!.Edge("clip"));
        Assert.Equal("n34", workflow.Node(ApiPromptConverter.NodeId("3", "denoiser"))!.Edge("unet")!.SourceNode);
        // The LoRA file is not in this models folder: the import warns and keeps its path.
        Assert.Contains(problems.Concat(conversion.Warnings), p => p.Contains("styles/ink.safetensors", StringComparison.Ordinal));
    }

    [Fact]
    public void Ui_format_custom_sampling_widgets_land_on_the_sampler_in_comfyuis_order()
    {
        var ui = (JsonObject)JsonNode.Parse(UiFile)!;
        var nodes = ui["nodes"]!.AsArray();
        var links = ui["links"]!.AsArray();
        // The KSampler's sources, fed instead to SamplerCustomAdvanced's pieces; the decoder reads the new sampler.
        var sampler = nodes.First(n => n!["type"]!.GetValue<string>() == "KSampler")!;
        (int Node, int Slot) Source(JsonNode target, string input)
        {
            var link = target["inputs"]!.AsArray().First(i => i!["name"]!.GetValue<string>() == input)!["link"]!.GetValue<int>();
            var row = links.First(l => l![0]!.GetValue<int>() == link)!.AsArray();
            return (row[1]!.GetValue<int>(), row[2]!.GetValue<int>());
        }

        var (model, positive, negative, latent) = (Source(sampler, "model"), Source(sampler, "positive"), Source(sampler, "negative"), Source(sampler, "latent_image"));
        nodes.Add(UiNode(40, "RandomNoise", [123, "fixed"]));
        nodes.Add(UiNode(41, "KSamplerSelect", ["dpmpp_2m"]));
        nodes.Add(UiNode(42, "BasicScheduler", ["karras", 12, 0.8], ("model", 910)));
        nodes.Add(UiNode(43, "CFGGuider", [5.5], ("model", 911), ("positive", 912), ("negative", 913)));
        nodes.Add(UiNode(44, "SamplerCustomAdvanced", [], ("noise", 914), ("guider", 915), ("sampler", 916), ("sigmas", 917), ("latent_image", 918)));
        links.Add(new JsonArray(910, model.Node, model.Slot, 42, 0, "MODEL"));
        links.Add(new JsonArray(911, model.Node, model.Slot, 43, 0, "MODEL"));
        links.Add(new JsonArray(912, positive.Node, positive.Slot, 43, 1, "CONDITIONING"));
        links.Add(new JsonArray(913, negative.Node, negative.Slot, 43, 2, "CONDITIONING"));
        links.Add(new JsonArray(914, 40, 0, 44, 0, "NOISE"));
        links.Add(new JsonArray(915, 43, 0, 44, 1, "GUIDER"));
        links.Add(new JsonArray(916, 41, 0, 44, 2, "SAMPLER"));
        links.Add(new JsonArray(917, 42, 0, 44, 3, "SIGMAS"));
        links.Add(new JsonArray(918, latent.Node, latent.Slot, 44, 4, "LATENT"));
        var decode = nodes.First(n => n!["type"]!.GetValue<string>() == "VAEDecode")!;
        links.Add(new JsonArray(919, 44, 0, decode["id"]!.GetValue<int>(), 0, "LATENT"));
        decode["inputs"]!.AsArray().First(i => i!["name"]!.GetValue<string>() == "samples")!["link"] = 919;

        var (conversion, _) = ComfyWorkflowImport.Import(Encoding.UTF8.GetBytes(ui.ToJsonString()), "custom-ui", Folders);

        var workflow = conversion!.Workflow!;
        object? Parameter(string name) => ((LiteralValue)workflow.Node("n44")!.Parameter(name)!.Value).Value;
        Assert.Equal("diffusion.ksampler", workflow.Node("n44")!.Type);
        Assert.Equal((123L, true, "dpmpp_2m", "karras", 12L, 0.8, false),
            ((long)Parameter("seed")!, (bool)Parameter("add_noise")!, (string)Parameter("sampler")!, (string)Parameter("scheduler")!, (long)Parameter("steps")!,
                (double)Parameter("denoise")!, (bool)Parameter("drop_penultimate_sigma")!));
        Assert.Equal(5.5, (double)((LiteralValue)workflow.Node(ApiPromptConverter.NodeId("43", "guider"))!.Parameter("scale")!.Value).Value!);
        Assert.Equal(ApiPromptConverter.NodeId("43", "guider"), workflow.Node("n44")!.Edge("guider")!.SourceNode);
    }

    [Fact]
    public void Ui_format_sd_turbo_example_converts_to_one_ksampler_with_the_sd_turbo_schedule()
    {
        // ComfyUI's SD-Turbo example as its editor saves it: SamplerCustom (add_noise, noise_seed + its control, cfg 1),
        // KSamplerSelect euler_ancestral, SDTurboScheduler (steps, denoise) in place of the KSampler.
        var ui = (JsonObject)JsonNode.Parse(UiFile)!;
        var nodes = ui["nodes"]!.AsArray();
        var links = ui["links"]!.AsArray();
        var sampler = nodes.First(n => n!["type"]!.GetValue<string>() == "KSampler")!;
        (int Node, int Slot) Source(string input)
        {
            var link = sampler["inputs"]!.AsArray().First(i => i!["name"]!.GetValue<string>() == input)!["link"]!.GetValue<int>();
            var row = links.First(l => l![0]!.GetValue<int>() == link)!.AsArray();
            return (row[1]!.GetValue<int>(), row[2]!.GetValue<int>());
        }

        var (model, positive, negative, latent) = (Source("model"), Source("positive"), Source("negative"), Source("latent_image"));
        nodes.Add(UiNode(41, "KSamplerSelect", ["euler_ancestral"]));
        nodes.Add(UiNode(42, "SDTurboScheduler", [1, 0.6], ("model", 910)));
        nodes.Add(UiNode(44, "SamplerCustom", [true, 77, "fixed", 1.0], ("model", 911), ("positive", 912), ("negative", 913), ("sampler", 916), ("sigmas", 917), ("latent_image", 918)));
        links.Add(new JsonArray(910, model.Node, model.Slot, 42, 0, "MODEL"));
        links.Add(new JsonArray(911, model.Node, model.Slot, 44, 0, "MODEL"));
        links.Add(new JsonArray(912, positive.Node, positive.Slot, 44, 1, "CONDITIONING"));
        links.Add(new JsonArray(913, negative.Node, negative.Slot, 44, 2, "CONDITIONING"));
        links.Add(new JsonArray(916, 41, 0, 44, 3, "SAMPLER"));
        links.Add(new JsonArray(917, 42, 0, 44, 4, "SIGMAS"));
        links.Add(new JsonArray(918, latent.Node, latent.Slot, 44, 5, "LATENT"));
        var decode = nodes.First(n => n!["type"]!.GetValue<string>() == "VAEDecode")!;
        links.Add(new JsonArray(919, 44, 0, decode["id"]!.GetValue<int>(), 0, "LATENT"));
        decode["inputs"]!.AsArray().First(i => i!["name"]!.GetValue<string>() == "samples")!["link"] = 919;

        var (conversion, problems) = ComfyWorkflowImport.Import(Encoding.UTF8.GetBytes(ui.ToJsonString()), "sd-turbo-ui", Folders);

        Assert.True(conversion?.Workflow is not null, string.Join("; ", problems));
        var node = conversion!.Workflow!.Node("n44")!;
        object? Parameter(string name) => ((LiteralValue)node.Parameter(name)!.Value).Value;
        Assert.Equal(("diffusion.ksampler", "euler_ancestral", "sd_turbo", 1L, 0.6, 77L, true),
            (node.Type, (string)Parameter("sampler")!, (string)Parameter("scheduler")!, (long)Parameter("steps")!, (double)Parameter("denoise")!, (long)Parameter("seed")!, (bool)Parameter("add_noise")!));
    }

    // A UI-format node: its widgets' values in order and its linked inputs.
    private static JsonObject UiNode(int id, string type, JsonArray widgets, params (string Name, int Link)[] inputs) => new()
    {
        ["id"] = id, ["type"] = type, ["pos"] = new JsonArray(0, 0), ["mode"] = 0, ["widgets_values"] = widgets,
        ["inputs"] = new JsonArray(inputs.Select(i => (JsonNode)new JsonObject { ["name"] = i.Name, ["link"] = i.Link }).ToArray()),
    };

    [Fact]
    public void Unmapped_classes_and_dangling_inputs_are_all_reported()
    {
        var ui = (JsonObject)JsonNode.Parse(UiFile)!;
        ui["nodes"]!.AsArray().Add(new JsonObject { ["id"] = 20, ["type"] = "IPAdapterApply", ["pos"] = new JsonArray(0, 0), ["mode"] = 0 });
        ui["nodes"]!.AsArray().First(n => n!["id"]!.GetValue<int>() == 10)!["mode"] = 2; // mute what the Reroute reads
        var (_, problems) = ComfyWorkflowImport.Import(Encoding.UTF8.GetBytes(ui.ToJsonString()), "broken", Folders);
        Assert.Contains(problems, p => p.Contains("IPAdapterApply", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("muted node 10", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ComfyUI_png_opens_from_its_prompt_chunk_with_positions_from_its_workflow_chunk_and_runs()
    {
        var png = WithText(Images.SolidPng(8, 8, SKColors.Black),
            ("prompt", Prompts.Txt2Img(text: "a white ball", steps: 4).ToJsonString()), ("workflow", Encoding.UTF8.GetString(UiFile)));
        var (conversion, problems) = ComfyWorkflowImport.Import(png, "from-png", Folders);
        Assert.Empty(problems);
        var workflow = conversion!.Workflow!;
        Assert.Equal(new NodePosition(1451, 189), workflow.Editor!.Positions.First(p => p.Key == "n9").Value);

        // The imported YAML runs on our own API like any workflow.
        await using var host = await ComfyHost.StartAsync();
        using var submit = await host.Client.PostAsJsonAsync("/api/runs", new { yaml = WorkflowYamlWriter.Write(workflow) });
        var id = JsonNode.Parse(await submit.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
        JsonNode run;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        do
        {
            await Task.Delay(100);
            run = JsonNode.Parse(await host.Client.GetStringAsync($"/api/runs/{id}"))!;
        }
        while (run["status"]!.GetValue<string>() is "queued" or "running" && DateTime.UtcNow < deadline);
        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        var (r, g, b, _, _) = Images.Mean(await host.Client.GetByteArrayAsync(run["outputs"]![0]!["url"]!.GetValue<string>()));
        Assert.True(r > 0.98 && g > 0.98 && b > 0.98, $"({r:F3}, {g:F3}, {b:F3})");
    }

    [Fact]
    public async Task Import_route_converts_an_uploaded_ui_file_and_lists_problems_of_a_broken_one()
    {
        await using var host = await ComfyHost.StartAsync();
        using var ok = await host.Client.PostAsync("/api/comfy/import?name=mine", new ByteArrayContent(UiFile));
        var body = JsonNode.Parse(await ok.Content.ReadAsStringAsync())!;
        Assert.True(ok.IsSuccessStatusCode, body.ToJsonString());
        var read = WorkflowYamlReader.Read(body["yaml"]!.GetValue<string>(), "mine.yaml");
        Assert.Equal("mine", read.Workflow!.Name);
        using var broken = await host.Client.PostAsync("/api/comfy/import", new StringContent("{\"1\": {\"class_type\": \"Nope\", \"inputs\": {}}}"));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, broken.StatusCode);
        Assert.Contains("Nope", await broken.Content.ReadAsStringAsync());
    }

    [Fact]
    public void Api_format_file_with_an_unknown_checkpoint_imports_with_a_warning()
    {
        var prompt = Prompts.Txt2Img(model: "v1-5-pruned-emaonly.safetensors");
        var (conversion, problems) = ComfyWorkflowImport.Import(Encoding.UTF8.GetBytes(prompt.ToJsonString()), "api", Folders);
        Assert.Empty(problems);
        Assert.Equal("models/checkpoints/v1-5-pruned-emaonly.safetensors", ((LiteralValue)conversion!.Workflow!.Node("n4")!.Parameter("path")!.Value).Value);
        Assert.Contains(conversion.Warnings, w => w.Contains("v1-5-pruned-emaonly", StringComparison.Ordinal));
    }

    // Inserts tEXt chunks after IHDR, as ComfyUI's PNGs carry them.
    private static byte[] WithText(byte[] png, params (string Keyword, string Text)[] texts)
    {
        var headerEnd = 8 + 12 + BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(8));
        using var output = new MemoryStream();
        output.Write(png, 0, headerEnd);
        foreach (var (keyword, text) in texts)
        {
            var data = Encoding.Latin1.GetBytes(keyword).Append((byte)0).Concat(Encoding.Latin1.GetBytes(text)).ToArray();
            var typed = Encoding.ASCII.GetBytes("tEXt").Concat(data).ToArray();
            var length = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
            output.Write(length);
            output.Write(typed);
            var crc = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
            output.Write(crc);
        }

        output.Write(png, headerEnd, png.Length - headerEnd);
        return output.ToArray();
    }

    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
        }

        return crc ^ 0xFFFFFFFFu;
    }
}
