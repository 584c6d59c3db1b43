using System.Text.Json;
using static FlowDiffusion.Models.Tests.OnnxModelRun;

namespace FlowDiffusion.Models.Tests;

public sealed class TinyTextEncoderTests
{
    private static readonly Dictionary<string, int> Vocabulary = JsonSerializer.Deserialize<Dictionary<string, int>>(
        File.ReadAllText(Path.Combine(RepositoryRoot.Models, "tiny-sd", "tokenizer", "vocab.json")))!;

    private static string TextEncoder => Path.Combine(RepositoryRoot.Models, "tiny-sd", "text_encoder", "model.onnx");

    [Fact]
    public void Pooler_output_is_the_hidden_state_at_the_first_end_of_text()
    {
        int[] ids = [Vocabulary["<|startoftext|>"], Vocabulary["a</w>"], Vocabulary["blue</w>"], Vocabulary["ball</w>"], Vocabulary["<|endoftext|>"], Vocabulary["<|endoftext|>"]];

        var outputs = Run(TextEncoder, ("input_ids", Int32s(ids, 1, ids.Length)));

        var firstEndOfText = outputs["last_hidden_state"].Values.Skip(4 * 32).Take(32);
        Assert.Equal(firstEndOfText, outputs["pooler_output"].Values);
        Assert.NotEqual(outputs["last_hidden_state"].Values.Skip(5 * 32).Take(32), outputs["pooler_output"].Values);
    }

    [Fact]
    public void Attention_is_causal_so_later_tokens_do_not_change_earlier_states()
    {
        int[] shortPrompt = [Vocabulary["<|startoftext|>"], Vocabulary["red</w>"], Vocabulary["<|endoftext|>"]];
        int[] longerPrompt = [Vocabulary["<|startoftext|>"], Vocabulary["red</w>"], Vocabulary["ball</w>"]];

        var a = Run(TextEncoder, ("input_ids", Int32s(shortPrompt, 1, 3)))["last_hidden_state"].Values;
        var b = Run(TextEncoder, ("input_ids", Int32s(longerPrompt, 1, 3)))["last_hidden_state"].Values;

        Assert.Equal(a.Take(64), b.Take(64));
        Assert.NotEqual(a.Skip(64), b.Skip(64));
    }
}
