using System.Text.Json;
using FlowDiffusion.Imaging.Preprocessors;

namespace FlowDiffusion.Imaging.Tests.Preprocessors;

/// <summary>
/// The kornia-style edge maps (ComfyUI's Canny node) against a torch implementation of kornia's definition
/// (tools/reference/make_kornia_canny.py, iterated hysteresis as kornia runs it): a shrunk landscape, a blurred random
/// colour image and drawn shapes with lines at every angle, at several threshold pairs (one with low above high),
/// pixel for pixel.
/// </summary>
public sealed class KorniaCannyTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "canny-kornia.json"))).RootElement;

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var image in Oracle.GetProperty("images").EnumerateArray())
        {
            for (var i = 0; i < image.GetProperty("cases").GetArrayLength(); i++) data.Add(image.GetProperty("name").GetString()!, i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Edges_equal_kornias_definition_pixel_for_pixel(string name, int index)
    {
        var image = Oracle.GetProperty("images").EnumerateArray().Single(i => i.GetProperty("name").GetString() == name);
        int height = image.GetProperty("height").GetInt32(), width = image.GetProperty("width").GetInt32();
        var rgb = Floats(image.GetProperty("rgb"));
        var oracle = image.GetProperty("cases")[index];
        var expected = oracle.GetProperty("edges").GetBytesFromBase64();

        var edges = KorniaCannyEdges.Detect(rgb, height, width, oracle.GetProperty("low").GetSingle(), oracle.GetProperty("high").GetSingle());

        var wrong = Enumerable.Range(0, edges.Length).Where(i => edges[i] != expected[i]).Select(i => (i / width, i % width)).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {expected.Count(e => e == 1)} edge pixels differ, first at {string.Join(", ", wrong.Take(5))}");
        Assert.Contains(edges, v => v == 1f);
    }

    [Fact]
    public void Tiny_images_are_an_error_naming_the_size()
    {
        var error = Assert.Throws<ArgumentException>(() => KorniaCannyEdges.Detect(new float[3 * 2 * 5], 2, 5, 0.4f, 0.8f));
        Assert.Contains("at least 3 × 3 pixels, got 5 × 2", error.Message, StringComparison.Ordinal);
    }

    private static float[] Floats(JsonElement base64)
    {
        var bytes = base64.GetBytesFromBase64();
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }
}
