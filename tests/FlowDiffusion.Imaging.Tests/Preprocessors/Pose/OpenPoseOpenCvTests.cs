using System.Text.Json;
using FlowDiffusion.Imaging.Preprocessors.Pose;
using Xunit.Abstractions;

namespace FlowDiffusion.Imaging.Tests.Preprocessors.Pose;

/// <summary>
/// The pose image against OpenCV drawing the same seeded random people as the annotator does
/// (tools/reference/make_openpose.py, OpenCV 4.6). SkiaSharp and OpenCV rasterise polygon and disc edges by different
/// rules, so edge pixels may differ (and a thin hand bone OpenCV covers entirely may keep a pixel here): nearly all drawn
/// pixels agree, and every colour covers about as many pixels as in OpenCV's image.
/// </summary>
public sealed class OpenPoseOpenCvTests(ITestOutputHelper output)
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "openpose-opencv.json"))).RootElement;

    public static TheoryData<int> Cases() => [.. Enumerable.Range(0, Oracle.GetProperty("cases").GetArrayLength())];

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_drawn_people_match_opencvs_drawing_but_for_edge_pixels(int index)
    {
        var oracle = Oracle.GetProperty("cases")[index];
        int height = oracle.GetProperty("height").GetInt32(), width = oracle.GetProperty("width").GetInt32();
        var expected = oracle.GetProperty("rgb_hwc").GetBytesFromBase64();
        var people = oracle.GetProperty("people").EnumerateArray().Select(p => new OpenPoseKeypoints(
            Points(p.GetProperty("body")), Points(p.GetProperty("left")), Points(p.GetProperty("right")), Points(p.GetProperty("face")))).ToList();

        var drawn = OpenPoseCanvas.Draw(people, height, width, body: true, hands: true, face: true);

        var plane = height * width;
        var ours = new Dictionary<(byte, byte, byte), int>();
        var theirs = new Dictionary<(byte, byte, byte), int>();
        int lit = 0, differ = 0;
        for (var i = 0; i < plane; i++)
        {
            var mine = ((byte)MathF.Round(drawn[i] * 255), (byte)MathF.Round(drawn[plane + i] * 255), (byte)MathF.Round(drawn[2 * plane + i] * 255));
            var opencv = (expected[3 * i], expected[3 * i + 1], expected[3 * i + 2]);
            ours[mine] = ours.GetValueOrDefault(mine) + 1;
            theirs[opencv] = theirs.GetValueOrDefault(opencv) + 1;
            if (opencv != ((byte)0, (byte)0, (byte)0)) lit++;
            if (mine != opencv) differ++;
        }
        output.WriteLine($"case {index}: {differ} of {lit} drawn pixels differ from OpenCV ({100.0 * differ / lit:F1} %), {theirs.Count} colours");
        Assert.True(lit > plane / 20, $"only {lit} pixels drawn");
        Assert.True(differ <= lit / 25, $"{differ} of {lit} drawn pixels differ from OpenCV");
        foreach (var (colour, count) in theirs.Where(c => c.Value >= 40))
        {
            var mine = ours.GetValueOrDefault(colour);
            Assert.True(Math.Abs(mine - count) <= count / 4, $"colour {colour}: {mine} pixels here, {count} in OpenCV's image");
        }
    }

    private static PoseKeypoint?[] Points(JsonElement points) =>
        [.. points.EnumerateArray().Select(p => p.ValueKind == JsonValueKind.Null ? (PoseKeypoint?)null : new PoseKeypoint(p[0].GetSingle(), p[1].GetSingle(), 1f))];
}
