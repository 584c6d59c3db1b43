using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using FlowDiffusion.Diffusion.Noise;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.shuffle and image.blur_gaussian against tools/reference/make_shuffle.py, which runs the published annotators'
/// steps with numpy 1.24's own generators and Debian's OpenCV 4.6 (cv2.resize, cv2.remap, cv2.GaussianBlur): aux's
/// ContentShuffleDetector (default_rng seeds 1 and 2⁶⁴ − 1, seed 0 through np.random.seed(0)), the extension's shuffle
/// (np.random.seed 84 and 2³² − 1, cropped before the warp), and cv2.GaussianBlur of 8-bit images — byte for byte, but
/// where the image is enlarged: OpenCvResize.Cubic is a level off OpenCV at about 0.5% of the bytes there.
/// </summary>
public sealed class ContentShuffleTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "content-shuffle.json"))).RootElement;

    private static Rgb8Image Source(string name)
    {
        var image = Oracle.GetProperty(name);
        return new Rgb8Image(image.GetProperty("height").GetInt32(), image.GetProperty("width").GetInt32(), image.GetProperty("rgb_hwc").GetBytesFromBase64());
    }

    private static Func<double> Uniform(JsonElement c)
    {
        var seed = ulong.Parse(c.GetProperty("seed").GetString()!, CultureInfo.InvariantCulture);
        return c.GetProperty("source").GetString() == "aux" && seed != 0 ? new NumpyPcg64(seed).NextDouble : new NumpyRandomState((uint)seed).NextDouble;
    }

    public static IEnumerable<object[]> Shuffles() => Oracle.GetProperty("shuffles").EnumerateArray().Select((c, i) => new object[] { i, $"{c.GetProperty("source")} seed {c.GetProperty("seed")} at {c.GetProperty("resolution")}" });

    [Theory]
    [MemberData(nameof(Shuffles))]
    public void Shuffle_matches_numpy_and_opencv_byte_for_byte(int index, string label)
    {
        var c = Oracle.GetProperty("shuffles")[index];
        var result = ContentShuffle.Apply(Source("image"), c.GetProperty("resolution").GetInt32(), c.GetProperty("source").GetString() == "aux", Uniform(c));
        Assert.Equal((c.GetProperty("height").GetInt32(), c.GetProperty("width").GetInt32()), (result.Height, result.Width));
        AssertBytes(c.GetProperty("output").GetBytesFromBase64(), result.Pixels, label, enlarged: c.GetProperty("resolution").GetInt32() > 120);
    }

    [Theory]
    [MemberData(nameof(Shuffles))]
    public void Noise_fields_are_numpys_float32_flow(int index, string label)
    {
        var c = Oracle.GetProperty("shuffles")[index];
        if (!c.TryGetProperty("flow", out var flowData)) return;
        var flow = MemoryMarshal.Cast<byte, float>(flowData.GetBytesFromBase64()).ToArray();
        // The shuffled image's size: aux's padded 64 × 128, the extension's cropped 64 × 80.
        var (height, width) = c.GetProperty("source").GetString() == "aux" ? (64, 128) : (64, 80);
        Assert.Equal(2 * height * width, flow.Length);
        var uniform = Uniform(c);
        var x = ContentShuffle.NoiseDisk(height, width, uniform);
        var y = ContentShuffle.NoiseDisk(height, width, uniform);
        var wrong = Enumerable.Range(0, height * width).Count(i => (float)(x[i] * (width - 1)) != flow[2 * i] || (float)(y[i] * (height - 1)) != flow[2 * i + 1]);
        Assert.True(wrong == 0, $"{label}: {wrong} of {height * width} coordinates differ");
        Assert.Equal(width - 1, flow.Where((_, i) => i % 2 == 0).Max());
    }

    [Fact]
    public void Gaussian_blur_matches_opencvs_fixed_point_byte_for_byte()
    {
        var small = Source("small");
        var count = 0;
        foreach (var c in Oracle.GetProperty("blurs").EnumerateArray())
        {
            var sigma = c.GetProperty("sigma").GetDouble();
            var image = c.GetProperty("white").GetBoolean() ? new Rgb8Image(60, 80, Enumerable.Repeat((byte)255, 60 * 80 * 3).ToArray()) : small;
            if (c.TryGetProperty("row", out _)) image = small.Crop(1, 80);
            AssertBytes(c.GetProperty("output").GetBytesFromBase64(), OpenCvGaussianBlur.Blur8Bit(image, sigma).Pixels, $"sigma {sigma}{(c.GetProperty("white").GetBoolean() ? " white" : "")}",
                flat: c.GetProperty("white").GetBoolean());
            count++;
        }

        Assert.Equal(10, count);
    }

    [Fact]
    public async Task Nodes_give_the_references_images()
    {
        using var temp = new TempFolder();
        var image = Source("image");
        var path = Path.Combine(temp.Path, "pattern.png");
        TestPng.WriteRgb(path, image.Width, image.Height, (x, y) => (image.Pixels[3 * (y * image.Width + x)], image.Pixels[3 * (y * image.Width + x) + 1], image.Pixels[3 * (y * image.Width + x) + 2]));
        var yaml = new StringBuilder($"flowdiffusion: 1\nname: shuffle\nnodes:\n  source: {{ node: image.load, with: {{ path: \"{path}\" }} }}\n");
        yaml.Append("  aux: { node: image.shuffle, in: { image: source.image }, with: { resolution: 300, seed: 18446744073709551615, generator: default_rng, padded: true } }\n");
        yaml.Append("  extension: { node: image.shuffle, in: { image: source.image }, with: { resolution: 64, seed: 84, generator: legacy, padded: false } }\n");
        yaml.Append("  blur: { node: image.blur_gaussian, in: { image: source.image }, with: { resolution: 64, sigma: 9 } }\n");
        var run = (await SdEngine.Shared.RunYamlAsync(yaml.ToString(), new Dictionary<string, object?>())).AssertCompleted();
        var shuffles = Oracle.GetProperty("shuffles");
        AssertImage(shuffles[1], run.Image("aux", "result"), "aux node", enlarged: true);
        AssertImage(shuffles[3], run.Image("extension", "result"), "extension node");
        AssertImage(Oracle.GetProperty("blur_gaussian"), run.Image("blur", "result"), "blur_gaussian node");
    }

    [Fact]
    public async Task A_legacy_seed_beyond_32_bits_is_refused_by_name()
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "grey.png");
        TestPng.WriteRgb(path, 8, 8, (x, y) => ((byte)(x * 30), (byte)(y * 30), 9));
        var yaml = $"flowdiffusion: 1\nname: shuffle\nnodes:\n  source: {{ node: image.load, with: {{ path: \"{path}\" }} }}\n"
                   + "  shuffle: { node: image.shuffle, in: { image: source.image }, with: { resolution: 64, seed: 4294967296, generator: legacy } }\n";
        (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertFailed("shuffle", "seed", "4294967295");
    }

    private static void AssertImage(JsonElement c, Image result, string label, bool enlarged = false)
    {
        Assert.Equal((c.GetProperty("height").GetInt32(), c.GetProperty("width").GetInt32()), (result.Height, result.Width));
        var plane = result.Height * result.Width;
        var bytes = new byte[3 * plane];
        for (var p = 0; p < plane; p++)
        for (var ch = 0; ch < 3; ch++) bytes[3 * p + ch] = (byte)Math.Round(result.Pixels[ch * plane + p] * 255);
        AssertBytes(c.GetProperty("output").GetBytesFromBase64(), bytes, label, enlarged);
    }

    // Exact, or where the image was enlarged (OpenCvResize.Cubic's vertical pass in double where OpenCV's vectorised one
    // rounds in float32) at most 1 level at under 1% of the bytes.
    private static void AssertBytes(byte[] expected, byte[] actual, string label, bool enlarged = false, bool flat = false)
    {
        Assert.Equal(expected.Length, actual.Length);
        var wrong = expected.Where((e, i) => actual[i] != e).Count();
        var worst = expected.Select((e, i) => Math.Abs(e - actual[i])).Max();
        if (enlarged) Assert.True(worst <= 1 && wrong < expected.Length / 100, $"{label}: {wrong} of {expected.Length} bytes differ (by up to {worst})");
        else Assert.True(wrong == 0, $"{label}: {wrong} of {expected.Length} bytes differ (by up to {worst})");
        Assert.True(flat || expected.Distinct().Count() > 1, $"{label}: a flat reference");
    }
}
