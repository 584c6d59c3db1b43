using System.Text.Json;
using static FlowDiffusion.Models.Tests.OnnxModelRun;

namespace FlowDiffusion.Models.Tests;

public sealed class AnalyticTextEncoderTests
{
    private static readonly Dictionary<string, int> Vocabulary = JsonSerializer.Deserialize<Dictionary<string, int>>(
        File.ReadAllText(Path.Combine(RepositoryRoot.Models, "analytic-sd", "tokenizer", "vocab.json")))!;

    public static TheoryData<string, float[]> ColourTokens => new()
    {
        { "red</w>", [1, 0, 0, 1] },
        { "green</w>", [0, 1, 0, 1] },
        { "blue</w>", [0, 0, 1, 1] },
        { "yellow</w>", [1, 1, 0, 1] },
        { "cyan</w>", [0, 1, 1, 1] },
        { "magenta</w>", [1, 0, 1, 1] },
        { "white</w>", [1, 1, 1, 1] },
        { "black</w>", [0, 0, 0, 1] },
        { "gray</w>", [0.5f, 0.5f, 0.5f, 1] },
        { "grey</w>", [0.5f, 0.5f, 0.5f, 1] },
        { "orange</w>", [1, 0.5f, 0, 1] },
        { "purple</w>", [0.5f, 0, 0.5f, 1] },
        { "ball</w>", [0, 0, 0, 0] },
        { "re", [0, 0, 0, 0] },
        { "r", [0, 0, 0, 0] },
        { "<|startoftext|>", [0, 0, 0, 0] },
        { "<|endoftext|>", [0, 0, 0, 0] },
    };

    [Theory]
    [MemberData(nameof(ColourTokens))]
    public void Token_embeds_to_its_colour_row(string token, float[] expected)
    {
        var ids = new[] { Vocabulary["<|startoftext|>"], Vocabulary[token], Vocabulary["<|endoftext|>"], Vocabulary["<|endoftext|>"] };

        var outputs = Run(TextEncoder, ("input_ids", Int32s(ids, 1, 4)));

        Assert.Equal([1L, 4, 4], outputs["last_hidden_state"].Shape);
        Assert.Equal(expected, outputs["last_hidden_state"].Values.Skip(4).Take(4));
        Assert.All(outputs["last_hidden_state"].Values.Take(4).Concat(outputs["last_hidden_state"].Values.Skip(8)), v => Assert.Equal(0f, v));
    }

    private static string TextEncoder => Path.Combine(RepositoryRoot.Models, "analytic-sd", "text_encoder", "model.onnx");
}
