using FlowDiffusion.Diffusion.Tokenization;
using FlowDiffusion.Nodes.StableDiffusion.Nodes;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// The textual-inversion embeddings folder a loader's <c>embeddings</c> parameter names (model.load's, clip.load's, as
/// ComfyUI gives every CLIP its embeddings directory), attached to the CLIP it loads: SD 1.x embeddings carry one vector
/// table, SDXL's one per tower (clip_l, clip_g).
/// </summary>
internal static class EmbeddingFolder
{
    /// <summary>The folder the loaders read by default.</summary>
    public const string Default = "models/embeddings";

    /// <summary>
    /// <paramref name="tokenizer"/> and <paramref name="encoder"/> with the embeddings in the folder <paramref name="value"/>
    /// names; unchanged when it is empty, missing or holds none, or when it is the default folder and lies outside the
    /// host's input folders. Embeddings added, removed or replaced later are seen by the next run: the folder's listing is
    /// part of the node's cache key. <paramref name="encoderPath"/> names the encoder in messages.
    /// </summary>
    public static (ITokenizer Tokenizer, ITextEncoder Encoder) Attach(INodeContext context, string value, ClipTokenizer tokenizer, ITextEncoder encoder, string encoderPath)
    {
        if (value.Length == 0)
        {
            return (tokenizer, encoder);
        }

        string folder;
        try
        {
            folder = PathResolver.Resolve(context, value, "embeddings");
        }
        catch (UnauthorizedAccessException) when (value == Default)
        {
            // The default folder outside this host's input folders (a models folder configured elsewhere) means none.
            return (tokenizer, encoder);
        }

        context.DependsOn(folder);
        var library = encoder is SdxlTextEncoder sdxl
            ? EmbeddingLibrary.ForSdxl(folder, sdxl.First?.Weights, sdxl.Second.Weights, encoderPath)
            : EmbeddingLibrary.For(folder, ((OnnxTextEncoder)encoder).Weights, encoderPath);
        return library is null
            ? (tokenizer, encoder)
            : (new EmbeddingTokenizer(tokenizer, library), encoder is SdxlTextEncoder xl ? xl.WithEmbeddings(library) : ((OnnxTextEncoder)encoder).WithEmbeddings(library));
    }
}
