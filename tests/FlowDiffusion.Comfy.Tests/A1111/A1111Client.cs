using System.Net.Http.Json;
using System.Text.Json.Nodes;
using SkiaSharp;

namespace FlowDiffusion.Comfy.Tests.A1111;

/// <summary>What an A1111 API script does: POST JSON to /sdapi/v1/…, read the JSON answer, decode the base64 images.</summary>
internal static class A1111Client
{
    public static async Task<(int Status, JsonNode Body)> PostAsync(ComfyHost host, string route, JsonObject body)
    {
        using var response = await host.Client.PostAsJsonAsync("/sdapi/v1/" + route, body);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonNode.Parse(text.Length == 0 ? "null" : text) ?? JsonValue.Create("null")!);
    }

    /// <summary>POSTs JSON to a route outside /sdapi/v1 (the ControlNet extension's /controlnet/…).</summary>
    public static async Task<(int Status, JsonNode Body)> PostRootAsync(ComfyHost host, string route, JsonObject body)
    {
        using var response = await host.Client.PostAsJsonAsync(route, body);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonNode.Parse(text.Length == 0 ? "null" : text) ?? JsonValue.Create("null")!);
    }

    public static async Task<JsonNode> GetAsync(ComfyHost host, string route) => JsonNode.Parse(await host.Client.GetStringAsync("/sdapi/v1/" + route))!;

    /// <summary>Runs txt2img or img2img and fails the test unless it answered 200.</summary>
    public static async Task<JsonNode> GenerateAsync(ComfyHost host, string route, JsonObject body)
    {
        var (status, answer) = await PostAsync(host, route, body);
        Assert.True(status == 200, answer.ToJsonString());
        return answer;
    }

    /// <summary>Image <paramref name="index"/> of an answer, as its PNG bytes.</summary>
    public static byte[] Png(JsonNode answer, int index = 0) => Convert.FromBase64String(answer["images"]![index]!.GetValue<string>());

    /// <summary>The decoded RGBA pixels of a PNG, for comparing images whatever their text chunks.</summary>
    public static byte[] Pixels(byte[] png)
    {
        using var bitmap = SKBitmap.Decode(png) ?? throw new InvalidDataException("not an image");
        using var rgba = bitmap.Copy(SKColorType.Rgba8888);
        return rgba.Bytes;
    }

    /// <summary>The answer's info, parsed (A1111 sends it as a JSON string).</summary>
    public static JsonNode Info(JsonNode answer) => JsonNode.Parse(answer["info"]!.GetValue<string>())!;

    /// <summary>The pixels of the first image a ComfyUI prompt saved, run through /prompt.</summary>
    public static async Task<byte[]> ComfyPixelsAsync(ComfyHost host, JsonObject prompt)
    {
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.True(status == 200, body.ToJsonString());
        var entry = await host.HistoryAsync(body["prompt_id"]!.GetValue<string>());
        Assert.Equal("success", entry["status"]!["status_str"]!.GetValue<string>());
        var image = entry["outputs"]!.AsObject().Select(o => o.Value!["images"]![0]!).First();
        var bytes = await host.Client.GetByteArrayAsync($"/view?filename={Uri.EscapeDataString(image["filename"]!.GetValue<string>())}&subfolder={Uri.EscapeDataString(image["subfolder"]!.GetValue<string>())}&type={image["type"]!.GetValue<string>()}");
        return Pixels(bytes);
    }
}
