using System.Text.Json;
using FlowDiffusion.Imaging.Preprocessors;

namespace FlowDiffusion.Imaging.Tests.Preprocessors;

/// <summary>
/// The edge maps against OpenCV's own <c>cv2.Canny</c> (tools/reference/make_canny.py, OpenCV 4.6): a shrunk landscape
/// and a blurred random image (every gradient direction and strength) at several threshold pairs, pixel for pixel.
/// </summary>
public sealed class CannyOpenCvTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "canny-opencv.json"))).RootElement;

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
    public void Edges_of_a_grey_image_equal_opencvs(string name, int index)
    {
        var image = Oracle.GetProperty("images").EnumerateArray().Single(i => i.GetProperty("name").GetString() == name);
        int height = image.GetProperty("height").GetInt32(), width = image.GetProperty("width").GetInt32();
        var gray = image.GetProperty("gray").GetBytesFromBase64().Select(b => (int)b).ToArray();
        var oracle = image.GetProperty("cases")[index];
        var expected = oracle.GetProperty("edges").GetBytesFromBase64();

        var edges = CannyEdges.DetectGray(gray, height, width, oracle.GetProperty("low").GetDouble(), oracle.GetProperty("high").GetDouble());

        var wrong = Enumerable.Range(0, edges.Length).Where(i => edges[i] != expected[i]).Select(i => (i / width, i % width)).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} pixels differ from OpenCV, first at {string.Join(", ", wrong.Take(5))}");
    }

    [Fact]
    public void Luminance_is_within_one_level_of_opencvs_and_the_rgb_edges_match_where_it_agrees()
    {
        var image = Oracle.GetProperty("images")[0];
        int height = image.GetProperty("height").GetInt32(), width = image.GetProperty("width").GetInt32();
        var hwc = image.GetProperty("rgb_hwc").GetBytesFromBase64();
        var plane = height * width;
        var rgb = new float[3 * plane];
        for (var i = 0; i < plane; i++)
        for (var c = 0; c < 3; c++)
            rgb[c * plane + i] = hwc[i * 3 + c] / 255f;
        var gray = image.GetProperty("gray").GetBytesFromBase64();

        var ours = CannyEdges.Luminance8(rgb, height, width);
        Assert.All(Enumerable.Range(0, plane), i => Assert.InRange(ours[i] - gray[i], -1, 1));
        var expected = image.GetProperty("cases")[0].GetProperty("edges").GetBytesFromBase64();
        var edges = CannyEdges.Detect(rgb, height, width, 100, 200);
        Assert.True(edges.Where((v, i) => v != expected[i]).Count() <= plane / 100, "the RGB path should give OpenCV's edges but for rounding");
        Assert.Contains(edges, v => v == 1f);
    }
}
