using FlowDiffusion.ModelGenerator.Graph;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;
using FlowDiffusion.ModelGenerator.Tokenizer;

namespace FlowDiffusion.ModelGenerator.Analytic;

/// <summary>A text encoder that is a bare embedding: colour words → (r, g, b, 1), every other token → 0.</summary>
internal static class AnalyticTextEncoder
{
    public const int Width = 4;

    public static OnnxModel Build(BpeVocabulary vocabulary)
    {
        var table = new float[vocabulary.Tokens.Count * Width];
        foreach (var (word, r, gg, b) in ColourWords.All)
        {
            var id = vocabulary.Ids[word + BpeVocabulary.EndOfWord];
            table[id * Width] = r;
            table[id * Width + 1] = gg;
            table[id * Width + 2] = b;
            table[id * Width + 3] = 1f;
        }

        var g = new GraphBuilder("analytic_text_encoder");
        var ids = g.Input("input_ids", TensorElementType.Int32, "batch", "sequence");
        var hidden = g.Gather(g.Weight("token_embedding", table, vocabulary.Tokens.Count, Width), ids);
        g.Output(hidden, "last_hidden_state", TensorElementType.Float, "batch", "sequence", Width);
        g.Output(ClipPooler.Pool(g, ids, hidden, Width), "pooler_output", TensorElementType.Float, "batch", Width);
        return g.Build("Analytic text encoder: colour words embed to (r, g, b, 1), all other tokens to 0.");
    }
}
