using System.Text.Json;
using FlowDiffusion.Imaging.Preprocessors.Pose;

namespace FlowDiffusion.Imaging.Tests.Preprocessors.Pose;

/// <summary>
/// The pose image against OpenCV drawing the same seeded random people as the annotator does
/// (tools/reference/make_openpose.py, OpenCV 4.6). SkiaSharp and OpenCV rasterise polygon and disc edges by different
/// rules, so edge pixels may differ; every colour must be one OpenCV drew, and nearly all pixels must agree.
/// </summary>
public sealed class OpenPoseOpenCvTests
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
        var colours = new HashSet<(byte, byte, byte)>(Enumerable.Range(0, plane).Select(i => (expected[3 * i], expected[3 * i + 1], expected[3 * i + 2])));
        int lit = 0, differ = 0;
        for (var i = 0; i < plane; i++)
        {
            var ours = ((byte)MathF.Round(drawn[i] * 255), (byte)MathF.Round(drawn[plane + i] * 255), (byte)MathF.Round(drawn[2 * plane + i] * 255));
            var theirs = (expected[3 * i], expected[3 * i + 1], expected[3 * i + 2]);
            if (theirs != ((byte)0, (byte)0, (byte)0)) lit++;
            if (ours != theirs) differ++;
            Assert.True(colours.Contains(ours), $"pixel ({i % width}, {i / width}) is {ours}, a colour OpenCV did not draw");
        }
        Assert.True(lit > plane / 20, $"only {lit} pixels drawn");
        Assert.True(differ <= lit / 10, $"{differ} of {lit} drawn pixels differ from OpenCV");
    }

    private static PoseKeypoint?[] Points(JsonElement points) =>
        [.. points.EnumerateArray().Select(p => p.ValueKind == JsonValueKind.Null ? (PoseKeypoint?)null : new PoseKeypoint(p[0].GetSingle(), p[1].GetSingle(), 1f))];
}
