using System.Net;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Tests;

public sealed class PromptRouteTests
{
    [Fact]
    public async Task Txt2img_prompt_runs_with_ComfyUI_socket_messages_in_order_and_its_png_downloads_from_view()
    {
        await using var host = await ComfyHost.StartAsync();
        await using var socket = await SocketClient.ConnectAsync(host.Address, "csharp-client");
        var hello = await socket.ReceiveAsync(CancellationToken.None);
        Assert.Equal("status", hello!["type"]!.GetValue<string>());
        Assert.Equal("csharp-client", hello["data"]!["sid"]!.GetValue<string>());
        Assert.Equal(0, hello["data"]!["status"]!["exec_info"]!["queue_remaining"]!.GetValue<int>());

        var (status, body) = await host.PostPromptAsync(Prompts.Txt2Img(steps: 6), "csharp-client");
        Assert.True(status == 200, body.ToJsonString());
        var id = body["prompt_id"]!.GetValue<string>();
        Assert.Equal(0, body["number"]!.GetValue<long>());
        Assert.Empty(body["node_errors"]!.AsObject());
        await socket.UntilDoneAsync(id, TimeSpan.FromSeconds(60));

        var mine = socket.Messages.Where(m => m["data"]?["prompt_id"]?.GetValue<string>() == id).ToList();
        var types = mine.Select(m => m["type"]!.GetValue<string>()).ToList();
        Assert.Equal("execution_start", types[0]);
        Assert.Equal("execution_cached", types[1]);
        Assert.True(types.IndexOf("execution_success") < types.LastIndexOf("executing"), string.Join(",", types));
        Assert.Equal("executing", types[^1]);
        Assert.Null(mine[^1]["data"]!["node"]);
        // Each ComfyUI node announced when it starts, in an order that respects the graph; only the sampler, whose preview
        // frames clients give to the latest announced node, is announced again when a node started beside it (the negative
        // prompt's encode, say).
        var executing = mine.Where(m => m["type"]!.GetValue<string>() == "executing" && m["data"]!["node"] is not null)
            .Select(m => m["data"]!["node"]!.GetValue<string>()).ToList();
        Assert.All(executing.GroupBy(n => n).Where(g => g.Count() > 1), g => Assert.Equal("3", g.Key));
        Assert.True(executing.IndexOf("4") < executing.IndexOf("3") && executing.IndexOf("3") < executing.IndexOf("8") && executing.IndexOf("8") < executing.IndexOf("9"),
            string.Join(",", executing));
        var progress = mine.Where(m => m["type"]!.GetValue<string>() == "progress").Select(m => m["data"]!).ToList();
        Assert.Equal([1, 2, 3, 4, 5, 6], progress.Select(p => p["value"]!.GetValue<int>()));
        Assert.All(progress, p => Assert.Equal(6, p["max"]!.GetValue<int>()));
        Assert.All(progress, p => Assert.Equal("3", p["node"]!.GetValue<string>()));
        // Previews are on by default: one per step but the last, as PNG frames of the latent size.
        Assert.Equal(5, socket.Frames.Count);
        Assert.All(socket.Frames, f => Assert.Equal((1, 2), (f.Type, f.Format)));
        Assert.Equal(8, Images.Mean(socket.Frames[0].Image).Width);

        var executed = Assert.Single(mine, m => m["type"]!.GetValue<string>() == "executed");
        Assert.Equal("9", executed["data"]!["node"]!.GetValue<string>());
        var image = executed["data"]!["output"]!["images"]![0]!;
        Assert.Equal("output", image["type"]!.GetValue<string>());
        Assert.StartsWith("ComfyUI_", image["filename"]!.GetValue<string>());

        var history = await host.HistoryAsync(id);
        Assert.Equal("success", history["status"]!["status_str"]!.GetValue<string>());
        Assert.True(history["status"]!["completed"]!.GetValue<bool>());
        Assert.Equal(["execution_start", "execution_cached", "execution_success"],
            history["status"]!["messages"]!.AsArray().Select(m => m![0]!.GetValue<string>()));
        Assert.Equal(id, history["prompt"]![1]!.GetValue<string>());
        Assert.Equal("KSampler", history["prompt"]![2]!["3"]!["class_type"]!.GetValue<string>());
        Assert.Equal(["9"], history["prompt"]![4]!.AsArray().Select(n => n!.GetValue<string>()));
        var saved = history["outputs"]!["9"]!["images"]![0]!;
        Assert.Equal(image.ToJsonString(), saved.ToJsonString());
        Assert.Equal("9", history["meta"]!["9"]!["node_id"]!.GetValue<string>());

        using var view = await host.Client.GetAsync($"/view?filename={Uri.EscapeDataString(saved["filename"]!.GetValue<string>())}&subfolder={Uri.EscapeDataString(saved["subfolder"]!.GetValue<string>())}&type=output");
        Assert.Equal(HttpStatusCode.OK, view.StatusCode);
        Assert.Equal("image/png", view.Content.Headers.ContentType!.MediaType);
        var (r, g, b, width, height) = Images.Mean(await view.Content.ReadAsByteArrayAsync());
        Assert.Equal((64, 64), (width, height));
        // analytic-sd draws the prompt's colour exactly when every step is right: "blue" at cfg 1.
        Assert.True(r < 0.02 && g < 0.02 && b > 0.98, $"({r:F3}, {g:F3}, {b:F3})");
    }

    [Fact]
    public async Task Prompt_accepts_text_plain_without_client_id_and_api_prefix_serves_the_same_routes()
    {
        await using var host = await ComfyHost.StartAsync();
        var body = new JsonObject { ["prompt"] = Prompts.Txt2Img(text: "a red ball", steps: 3) }.ToJsonString();
        using var response = await host.Client.PostAsync("/api/prompt", new StringContent(body, System.Text.Encoding.UTF8, "text/plain"));
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(response.IsSuccessStatusCode, answer.ToJsonString());
        var id = answer["prompt_id"]!.GetValue<string>();
        var entry = await host.HistoryAsync(id);
        Assert.Equal("success", entry["status"]!["status_str"]!.GetValue<string>());
        var all = JsonNode.Parse(await host.Client.GetStringAsync("/api/history"))!;
        Assert.NotNull(all[id]);
        var queue = JsonNode.Parse(await host.Client.GetStringAsync("/api/queue"))!;
        Assert.Empty(queue["queue_running"]!.AsArray());
        Assert.Empty(queue["queue_pending"]!.AsArray());
        var remaining = JsonNode.Parse(await host.Client.GetStringAsync("/prompt"))!;
        Assert.Equal(0, remaining["exec_info"]!["queue_remaining"]!.GetValue<int>());
    }

    [Fact]
    public async Task Invalid_prompt_gets_ComfyUI_error_shape_with_per_node_errors()
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Prompts.Txt2Img(sampler: "sa_solver_pec", scheduler: "AYS SD9");
        prompt["4"]!["inputs"]!["ckpt_name"] = "nope.safetensors";
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        Assert.Equal("prompt_outputs_failed_validation", body["error"]!["type"]!.GetValue<string>());
        var sampler = body["node_errors"]!["3"]!;
        Assert.Equal("KSampler", sampler["class_type"]!.GetValue<string>());
        var details = sampler["errors"]!.AsArray().Select(e => e!["details"]!.GetValue<string>()).ToList();
        Assert.Contains(details, d => d.Contains("'sa_solver_pec'", StringComparison.Ordinal));
        Assert.Contains(details, d => d.Contains("'AYS SD9'", StringComparison.Ordinal));
        var loader = body["node_errors"]!["4"]!["errors"]![0]!;
        Assert.Equal("value_not_in_list", loader["type"]!.GetValue<string>());
        Assert.Contains("'analytic-sd'", loader["details"]!.GetValue<string>());
        Assert.Equal("ckpt_name", loader["extra_info"]!["input_name"]!.GetValue<string>());
        Assert.Equal(["9"], sampler["dependent_outputs"]!.AsArray().Select(n => n!.GetValue<string>()));

        prompt = Prompts.Txt2Img();
        prompt["10"] = new JsonObject { ["class_type"] = "FancyCustomNode", ["inputs"] = new JsonObject() };
        (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        Assert.Equal("invalid_prompt", body["error"]!["type"]!.GetValue<string>());
        Assert.Contains("FancyCustomNode", body["error"]!["message"]!.GetValue<string>());

        using var notJson = await host.Client.PostAsync("/prompt", new StringContent("{ not json"));
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Equal("invalid_prompt", JsonNode.Parse(await notJson.Content.ReadAsStringAsync())!["error"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task History_survives_a_restart_on_the_same_store_in_ComfyUI_shape_and_can_be_deleted()
    {
        var root = Path.Combine(Path.GetTempPath(), "fd-comfy-" + Guid.NewGuid().ToString("N"));
        string id;
        JsonNode before;
        long number;
        await using (var first = await ComfyHost.StartAsync(root, keepRoot: true))
        {
            await using var socket = await SocketClient.ConnectAsync(first.Address, "restarter");
            var (status, body) = await first.PostPromptAsync(Prompts.Txt2Img(steps: 2), "restarter");
            Assert.True(status == 200, body.ToJsonString());
            id = body["prompt_id"]!.GetValue<string>();
            number = body["number"]!.GetValue<long>();
            await socket.UntilDoneAsync(id, TimeSpan.FromSeconds(60));
            before = await first.HistoryAsync(id);
        }

        await using var second = await ComfyHost.StartAsync(root);
        var after = JsonNode.Parse(await second.Client.GetStringAsync($"/history/{id}"))![id];
        Assert.NotNull(after);
        Assert.True(JsonNode.DeepEquals(before, after), $"{before!.ToJsonString()}\n{after!.ToJsonString()}");
        Assert.Equal("success", after!["status"]!["status_str"]!.GetValue<string>());
        Assert.Equal(id, after["prompt"]![1]!.GetValue<string>());
        var image = after["outputs"]!["9"]!["images"]![0]!;
        using (var view = await second.Client.GetAsync($"/api/view?filename={image["filename"]}&subfolder={image["subfolder"]}&type=output"))
            Assert.Equal("image/png", view.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(JsonNode.Parse(await second.Client.GetStringAsync("/history"))![id]);

        // A prompt queued after the restart numbers after the stored ones and lists after them.
        var (_, next) = await second.PostPromptAsync(Prompts.Txt2Img(steps: 2));
        Assert.True(next["number"]!.GetValue<long>() > number, next.ToJsonString());
        await second.HistoryAsync(next["prompt_id"]!.GetValue<string>());
        var all = JsonNode.Parse(await second.Client.GetStringAsync("/history"))!.AsObject().Select(p => p.Key).ToList();
        Assert.Equal([id, next["prompt_id"]!.GetValue<string>()], all);

        using (var delete = await second.Client.PostAsync("/history", new StringContent($$"""{"delete": ["{{id}}", "../../x"]}""")))
            Assert.True(delete.IsSuccessStatusCode);
        Assert.Empty(JsonNode.Parse(await second.Client.GetStringAsync($"/history/{id}"))!.AsObject());
        Assert.DoesNotContain(Directory.EnumerateFiles(root, "comfyui-history.json", SearchOption.AllDirectories), f => f.Contains(id, StringComparison.Ordinal));
    }
}
