using System.Text.Json;
using FlowDiffusion.Diffusion.Tokenization;

namespace FlowDiffusion.Diffusion.Tests.Tokenization;

/// <summary>Paths and cases under TestData/tokenizer.</summary>
internal static class TokenizerTestData
{
    public static string Path(params string[] parts) =>
        System.IO.Path.Combine([AppContext.BaseDirectory, "TestData", "tokenizer", .. parts]);

    /// <summary>A hand-made CLIP-format vocabulary: specials at 0 and 1, bytes from 2, merges for red, cat, blue, and.</summary>
    public static ClipTokenizer Tiny() => ClipTokenizer.FromFolder(Path("tiny"));

    public static IEnumerable<object[]> Cases(string fileName) =>
        JsonDocument.Parse(File.ReadAllText(Path(fileName))).RootElement.EnumerateArray()
            .Select(c => new object[] { c.GetProperty("name").GetString()!, c.GetProperty("text").GetString()!,
                c.GetProperty("ids").EnumerateArray().Select(id => id.GetInt32()).ToArray() });
}
