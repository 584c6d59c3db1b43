using FlowDiffusion.Diffusion.Tokenization;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>The CLIP tokenizer with textual-inversion references expanded into the library's ids.</summary>
internal sealed class EmbeddingTokenizer(ClipTokenizer tokenizer, EmbeddingLibrary embeddings) : ITokenizer
{
    public EmbeddingLibrary Embeddings => embeddings;

    public Tokens Tokenize(string prompt) => new(prompt, new PromptEncoder(tokenizer, embeddings).Encode(prompt).Chunks);

    /// <summary>Tokenizes <paramref name="prompt"/> in <paramref name="syntax"/>.</summary>
    public Tokens Tokenize(string prompt, PromptSyntax syntax) => ClipTokenizer.Tokenize(new PromptEncoder(tokenizer, embeddings), prompt, syntax);
}
