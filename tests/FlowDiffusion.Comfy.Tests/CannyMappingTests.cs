using System.Text.Json;
using System.Text.Json.Nodes;
using SkiaSharp;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's Canny node through /prompt: an uploaded landscape's edges equal the torch implementation of kornia's
/// definition (tools/reference/make_kornia_canny.py) pixel for pixel, and ComfyUI's threshold range is enforced.
/// </summary>
public sealed class CannyMappingTests
{
    [Fact]
    public async Task Canny_of_an_uploaded_image_gives_kornias_edges_in_every_channel()
    {
        var oracle = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Imaging.Tests", "TestData", "canny-kornia.json")))
            .RootElement.GetProperty("images")[0];
        int height = oracle.GetProperty("height").GetInt32(), width = oracle.GetProperty("width").GetInt32();
        var rgbBytes = oracle.GetProperty("rgb").GetBytesFromBase64();
        var rgb = new float[rgbBytes.Length / 4];
        Buffer.BlockCopy(rgbBytes, 0, rgb, 0, rgbBytes.Length);
        var (low, high) = (oracle.GetProperty("cases")[1].GetProperty("low").GetDouble(), oracle.GetProperty("cases")[1].GetProperty("high").GetDouble());
        var expected = oracle.GetProperty("cases")[1].GetProperty("edges").GetBytesFromBase64();
        var plane = height * width;
        using var bitmap = new SKBitmap(width, height);
        for (var i = 0; i < plane; i++)
            bitmap.SetPixel(i % width, i / width, new SKColor(Byte(rgb[i]), Byte(rgb[plane + i]), Byte(rgb[2 * plane + i])));
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);

        await using var host = await ComfyHost.StartAsync();
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "landscape.png", png.ToArray());
        var prompt = Prompts.Parse($$"""
            {
              "1": { "class_type": "LoadImage", "inputs": { "image": "{{name}}" } },
              "2": { "class_type": "Canny", "inputs": { "image": ["1", 0], "low_threshold": {{low}}, "high_threshold": {{high}} } },
              "9": { "class_type": "SaveImage", "inputs": { "images": ["2", 0], "filename_prefix": "canny" } }
            }
            """);
        using var edges = SKBitmap.Decode(await ClassMappingTests.RunForImageAsync(host, prompt));

        var wrong = 0;
        for (var i = 0; i < plane; i++)
        {
            var c = edges.GetPixel(i % width, i / width);
            var want = expected[i] == 1 ? (byte)255 : (byte)0;
            if (c.Red != want || c.Green != want || c.Blue != want) wrong++;
        }

        Assert.Equal(0, wrong);
        Assert.InRange(expected.Count(e => e == 1), 100, plane / 2);

        prompt["2"]!["inputs"]!["high_threshold"] = 1.5;
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        Assert.Equal("value_bigger_than_max", body["node_errors"]!["2"]!["errors"]![0]!["type"]!.GetValue<string>());
    }

    private static byte Byte(float value) => (byte)Math.Round(value * 255);
}
