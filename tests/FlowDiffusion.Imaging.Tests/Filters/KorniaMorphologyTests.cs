using System.Text.Json;
using FlowDiffusion.Imaging.Filters;

namespace FlowDiffusion.Imaging.Tests.Filters;

/// <summary>
/// ComfyUI's Morphology (kornia.morphology, flat square, geodesic border) and kornia's YCbCr against torch implementations
/// of kornia's definitions (tools/reference/make_kornia_morphology.py; its windows cross-checked there against scipy's
/// grey morphology): a random batch of two and a byte-valued image, odd and even kernel sizes, kernels larger than the
/// image. Morphology only picks and subtracts float32 values, so it must match exactly; YCbCr within 1e-6.
/// </summary>
public sealed class KorniaMorphologyTests
{
    private static readonly Lazy<JsonElement> Data = new(() => JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "kornia-morphology.json"))).RootElement);

    internal static JsonElement Oracle() => Data.Value;

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var image in Oracle().GetProperty("images").EnumerateArray())
        {
            for (var i = 0; i < image.GetProperty("cases").GetArrayLength(); i++) data.Add(image.GetProperty("name").GetString()!, i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Operations_equal_kornias_definition_exactly(string name, int index)
    {
        var image = Image(name);
        var oracle = image.GetProperty("cases")[index];
        var expected = Floats(oracle.GetProperty("result"));

        var result = KorniaMorphology.Apply(Floats(image.GetProperty("rgb")), image.GetProperty("height").GetInt32(), image.GetProperty("width").GetInt32(),
            oracle.GetProperty("operation").GetString()!, oracle.GetProperty("kernel_size").GetInt32());

        var wrong = Enumerable.Range(0, expected.Length).Where(i => result[i] != expected[i]).ToList();
        Assert.True(wrong.Count == 0, $"{oracle.GetProperty("operation")} k={oracle.GetProperty("kernel_size")}: {wrong.Count} of {expected.Length} values differ, first at {string.Join(", ", wrong.Take(5))}");
    }

    [Theory]
    [InlineData("random")]
    [InlineData("bytes")]
    public void YCbCr_both_ways_equals_kornias_coefficients(string name)
    {
        var image = Image(name);
        var plane = image.GetProperty("height").GetInt32() * image.GetProperty("width").GetInt32();
        var rgb = Floats(image.GetProperty("rgb"));

        var yuv = KorniaYCbCr.FromRgb(rgb, plane);
        var back = KorniaYCbCr.ToRgb(yuv, plane);

        Close(Floats(image.GetProperty("yuv")), yuv);
        Close(Floats(image.GetProperty("rgb_again")), back);
        Close(rgb, back, 2e-3f);
    }

    [Fact]
    public void An_unknown_operation_or_kernel_size_below_one_is_an_error()
    {
        Assert.Contains("operation must be one of erode", Assert.Throws<ArgumentException>(() => KorniaMorphology.Apply(new float[4], 2, 2, "tophat", 3)).Message, StringComparison.Ordinal);
        Assert.Contains("kernel size must be 1 or more", Assert.Throws<ArgumentException>(() => KorniaMorphology.Apply(new float[4], 2, 2, "erode", 0)).Message, StringComparison.Ordinal);
    }

    internal static JsonElement Image(string name) => Oracle().GetProperty("images").EnumerateArray().Single(i => i.GetProperty("name").GetString() == name);

    internal static float[] Floats(JsonElement base64)
    {
        var bytes = base64.GetBytesFromBase64();
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }

    private static void Close(float[] expected, float[] actual, float tolerance = 1e-6f)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = Enumerable.Range(0, expected.Length).Max(i => Math.Abs(expected[i] - actual[i]));
        Assert.True(worst <= tolerance, $"largest difference {worst}");
    }
}
