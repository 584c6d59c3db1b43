using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Adapter;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Adds an image prompt to a conditioning through an IP-Adapter.</summary>
[Node("ipadapter.apply", "1.2.0", Category = "conditioning", Title = "Apply IP-Adapter",
    Description = "Adds an image prompt to a conditioning: while sampling, every cross-attention layer of the UNet also attends to the IP-Adapter's image tokens, weighted (decoupled cross-attention: text attention + weight × image attention), between the start and end fractions of the schedule. Several images in the embeddings make one longer image prompt, or one image by combine. IP-Adapter Plus (and plus-face) reads the encoder's penultimate hidden states through its Resampler. Apply it to the positive: the negative then gets the adapter's tokens of an empty image at the same weight (zero embeddings; for Plus, the hidden states the encoder made for its unconditional side), as diffusers does, or of the negative embeddings given. weight_type, combine and embeds_scaling are ComfyUI's IPAdapter_plus pack's.")]
public sealed class IpAdapterApplyNode : INode
{
    /// <summary>The conditioning.</summary>
    [Input(Description = "The conditioning to add the image prompt to.")]
    public Conditioning? Conditioning { get; set; }

    /// <summary>The adapter.</summary>
    [Input(Description = "The IP-Adapter (ipadapter.load).")]
    public IIpAdapter? Adapter { get; set; }

    /// <summary>The image embeddings.</summary>
    [Input(Description = "The image embeddings (clip_vision.encode) from the CLIP model the adapter was trained with.")]
    public ClipVisionOutput? Embeds { get; set; }

    /// <summary>The embeddings of the unconditional side.</summary>
    [Input(Description = "Embeddings for the unconditional side instead of an empty image's (the pack's image_negative): the first images', the last repeated when there are fewer than the image prompt's.", Optional = true)]
    public ClipVisionOutput? Negative { get; set; }

    /// <summary>The weight.</summary>
    [Parameter(Description = "The image attention's weight λ (0 = no effect; 1 = as trained; lower it to let the text say more).", Min = -1, Max = 5, Step = 0.01)]
    public float Weight { get; set; } = 1f;

    /// <summary>Where in the schedule the image prompt starts acting.</summary>
    [Parameter(Description = "The fraction of the schedule where the image prompt starts acting (0 = the first, noisiest step).", Min = 0, Max = 1, Step = 0.001)]
    public float StartPercent { get; set; }

    /// <summary>Where in the schedule the image prompt stops acting.</summary>
    [Parameter(Description = "The fraction of the schedule where the image prompt stops acting (1 = the last step).", Min = 0, Max = 1, Step = 0.001)]
    public float EndPercent { get; set; } = 1f;

    /// <summary>How the weight spreads over the layers.</summary>
    [Parameter(Description = "How the weight spreads over the UNet's layers, as ComfyUI's IPAdapter_plus pack: linear (all alike), ease in/out (more at the input/output end), weak input/output/middle (0.2 there), strong middle (0.2 elsewhere), style transfer, composition, strong style transfer, style and composition (the pack's layer tables).",
        Choices = ["linear", "ease in", "ease out", "ease in-out", "reverse in-out", "weak input", "weak output", "weak middle", "strong middle", "style transfer", "composition", "strong style transfer", "style and composition"])]
    public string WeightType { get; set; } = "linear";

    /// <summary>How several images make one prompt.</summary>
    [Parameter(Description = "Several images: concat (every image's tokens), or one image of their embeddings by add, subtract (the first minus the mean of the others), average or norm average.",
        Choices = ["concat", "add", "subtract", "average", "norm average"])]
    public string Combine { get; set; } = "concat";

    /// <summary>How the weight enters the attention.</summary>
    [Parameter(Description = "V only: the weight scales the image attention's output; K+V: it scales the image keys and values; w/ C penalty: times the layer's width / 1280; K+mean(V): the keys and each image's mean value.",
        Choices = ["V only", "K+V", "K+V w/ C penalty", "K+mean(V) w/ C penalty"])]
    public string EmbedsScaling { get; set; } = "V only";

    /// <summary>The conditioning with the image prompt.</summary>
    [Output(Description = "The conditioning with the image prompt added.")]
    public Conditioning? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var adapter = Adapter as IpAdapterHandle
            ?? throw new ArgumentException($"adapter: this IP-Adapter ({Adapter?.GetType().Name ?? "none"}) was not loaded by ipadapter.load");
        if (StartPercent > EndPercent)
        {
            throw new ArgumentException($"start_percent ({StartPercent}) is after end_percent ({EndPercent})");
        }

        var source = Conditioning!;
        if (source.Extras.TryGet(ImagePrompt.Key, out _))
        {
            throw new ArgumentException("conditioning: it already carries an IP-Adapter image prompt; one per conditioning is supported (to prompt with several images, encode them as one batch)");
        }

        var embeds = Embeds!;
        var model = adapter.Model;
        float[] image, unconditional;
        int batch, item;
        if (model.TakesHiddenStates)
        {
            // IP-Adapter Plus: the Resampler reads every token of the tower's penultimate layer.
            var hidden = embeds.HiddenStates
                ?? throw new ArgumentException($"embeds: the IP-Adapter Plus '{adapter.Name}' reads the CLIP vision model's penultimate hidden states, which this encoder's graph does not give; load the CLIP vision model from its .safetensors file or folder");
            if (hidden.Width != model.EmbeddingWidth)
            {
                throw new ArgumentException($"embeds: {hidden.Width}-wide hidden states, but the IP-Adapter Plus '{adapter.Name}' takes {model.EmbeddingWidth}-wide ones; encode with the CLIP vision model it was trained with (ViT-H/14, 1280 wide, for ip-adapter-plus_sd15)");
            }

            (batch, item, image) = (hidden.Batch, hidden.Unconditional.Length, hidden.Penultimate.ToArray());
            var negative = Negative is null ? hidden.Unconditional.ToArray()
                : Negative.HiddenStates?.Penultimate.ToArray() ?? throw new ArgumentException("negative: these embeddings carry no penultimate hidden states, which IP-Adapter Plus reads");
            unconditional = Sized(negative, item, batch);
        }
        else
        {
            if (embeds.Width != model.EmbeddingWidth)
            {
                throw new ArgumentException($"embeds: {embeds.Width}-wide image embeddings, but the IP-Adapter '{adapter.Name}' takes {model.EmbeddingWidth}-wide ones; encode with the CLIP vision model it was trained with (ViT-H/14 for ip-adapter_sd15)");
            }

            (batch, item, image) = (embeds.Batch, model.EmbeddingWidth, embeds.ToArray());
            // The unconditional side: zero embeddings, one per image, so the negative's image prompt has the positive's length.
            unconditional = Negative is null ? new float[batch * item] : Sized(Negative.ToArray(), item, batch);
        }

        if (unconditional.Length % item != 0)
        {
            throw new ArgumentException($"negative: its embeddings are not {item} wide, as the image prompt's are");
        }

        var (combined, images) = IpEmbedsCombination.Combine(Combine, image, batch);
        if (images != batch)
        {
            unconditional = unconditional[..item];
        }

        var projected = model.Project(combined, images, cancellationToken);
        var empty = model.Project(unconditional, images, cancellationToken);
        var weights = IpAdapterWeightTypes.LayerWeights(WeightType, Weight, projected.Channels);
        var tokens = projected.Tokens / images;
        var (imageAttention, scales) = IpEmbedsScaling.Apply(EmbedsScaling, projected, weights, tokens);
        var (emptyAttention, _) = IpEmbedsScaling.Apply(EmbedsScaling, empty, weights, tokens);
        var prompt = ImagePrompt.Of(
            new ImagePromptRow(imageAttention, scales, StartPercent, EndPercent),
            new ImagePromptRow(emptyAttention, scales, StartPercent, EndPercent));
        Result = CombinedConditionings.Each(source, part => part.With(ImagePrompt.Key, prompt));
        return Task.CompletedTask;
    }

    // The first batch items of values, the last repeated when there are fewer (the pack's tensor_to_size).
    private static float[] Sized(float[] values, int item, int batch)
    {
        var have = values.Length / item;
        if (have == 0 || values.Length % item != 0)
        {
            return values;
        }

        var result = new float[batch * item];
        for (var b = 0; b < batch; b++)
        {
            values.AsSpan(Math.Min(b, have - 1) * item, item).CopyTo(result.AsSpan(b * item));
        }

        return result;
    }
}
