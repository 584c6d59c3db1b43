using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// An IP-Adapter's image side as ONNX: <c>image_embeds</c> float32 [B, embedding] (or, for IP-Adapter Plus,
/// <c>penultimate_hidden_states</c> [B, image tokens, width]) → <c>ip_key_n</c> and <c>ip_value_n</c> [B, tokens, channels]
/// for each cross-attention layer n (the decoupled keys and values the IP-adapted UNet takes), as the checkpoint builder
/// writes it.
/// </summary>
public sealed class IpAdapterModel
{
    private static readonly TensorElementType[] Float32 = [TensorElementType.Float];
    private readonly ModelSession _model;
    private readonly string[] _outputs;
    private readonly string _input;

    private IpAdapterModel(ModelSession model)
    {
        _model = model;
        var signature = model.Signature;
        TakesHiddenStates = signature.HasInput("penultimate_hidden_states");
        _input = TakesHiddenStates ? "penultimate_hidden_states" : "image_embeds";
        var embeds = signature.Input(_input, Float32, TakesHiddenStates ? 3 : 2);
        EmbeddingWidth = embeds.Fixed(TakesHiddenStates ? 2 : 1) ?? throw signature.Mismatch($"{_input} with a fixed width");
        Layers = Enumerable.Range(0, 1024).TakeWhile(i => signature.HasOutput(Key(i)) && signature.HasOutput(Value(i))).Count();
        if (Layers == 0)
        {
            throw signature.Mismatch("outputs ip_key_0, ip_value_0 … (an IP-Adapter's decoupled keys and values)");
        }

        _outputs = [.. Enumerable.Range(0, Layers).SelectMany(i => new[] { Key(i), Value(i) })];
    }

    /// <summary>Opens the graph <paramref name="source"/> describes through <paramref name="cache"/> and checks its signature.</summary>
    public static IpAdapterModel Open(OnnxSessionCache cache, OnnxModelSource source) => new(new ModelSession(cache, source, "IP-Adapter"));

    /// <summary>The model file.</summary>
    public string ModelPath => _model.ModelPath;

    /// <summary>Whether the adapter reads the CLIP tower's penultimate hidden states (IP-Adapter Plus) rather than its image embedding.</summary>
    public bool TakesHiddenStates { get; }

    /// <summary>The width of what the adapter takes: the image embedding (1024 for SD 1.5's ViT-H adapter) or, for Plus, the hidden states (1280 for ViT-H).</summary>
    public int EmbeddingWidth { get; }

    /// <summary>The number of cross-attention layers.</summary>
    public int Layers { get; }

    /// <summary>
    /// The decoupled keys and values of <paramref name="batch"/> image embeddings, all images' tokens one after another as one
    /// image prompt (diffusers' several images for one adapter): per layer, [1, batch × tokens, channels].
    /// </summary>
    public IpKeysValues Project(float[] embeds, int batch, CancellationToken cancellationToken)
    {
        var tokens = TakesHiddenStates ? embeds.Length / Math.Max(1, batch * EmbeddingWidth) : 1;
        if (embeds.Length != batch * tokens * EmbeddingWidth || tokens == 0)
        {
            throw new ArgumentException(TakesHiddenStates
                ? $"the IP-Adapter Plus '{ModelPath}' takes {EmbeddingWidth}-wide hidden states, which {embeds.Length} values for {batch} images are not; use the CLIP vision model it was trained with"
                : $"the IP-Adapter '{ModelPath}' takes {EmbeddingWidth}-wide image embeddings, not {embeds.Length / Math.Max(1, batch)}-wide; use the CLIP vision model it was trained with (ViT-H/14 for ip-adapter_sd15)");
        }

        using var input = OrtValue.CreateTensorValueFromMemory(embeds, TakesHiddenStates ? [batch, tokens, EmbeddingWidth] : [batch, EmbeddingWidth]);
        using var results = _model.Run([_input], [input], _outputs, cancellationToken);
        var keys = new float[Layers][];
        var values = new float[Layers][];
        var channels = new int[Layers];
        tokens = 0;
        for (var layer = 0; layer < Layers; layer++)
        {
            var shape = results[2 * layer].GetTensorTypeAndShape().Shape;
            tokens = (int)(shape[0] * shape[1]);
            channels[layer] = (int)shape[2];
            keys[layer] = results[2 * layer].GetTensorDataAsSpan<float>().ToArray();
            values[layer] = results[(2 * layer) + 1].GetTensorDataAsSpan<float>().ToArray();
        }

        return new IpKeysValues(tokens, channels, keys, values);
    }

    private static string Key(int layer) => $"ip_key_{layer}";

    private static string Value(int layer) => $"ip_value_{layer}";
}
