using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Adapter;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Adds an image prompt to a conditioning through an IP-Adapter.</summary>
[Node("ipadapter.apply", "1.1.0", Category = "conditioning", Title = "Apply IP-Adapter",
    Description = "Adds an image prompt to a conditioning: while sampling, every cross-attention layer of the UNet also attends to the IP-Adapter's image tokens, weighted (decoupled cross-attention: text attention + weight × image attention), between the start and end fractions of the schedule. Several images in the embeddings make one longer image prompt. IP-Adapter Plus (and plus-face) reads the encoder's penultimate hidden states through its Resampler. Apply it to the positive: the negative then gets the adapter's tokens of an empty image at the same weight (zero embeddings; for Plus, the hidden states of zero pixel values), as diffusers does.")]
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

    /// <summary>The weight.</summary>
    [Parameter(Description = "The image attention's weight λ (0 = no effect; 1 = as trained; lower it to let the text say more).", Min = -1, Max = 5, Step = 0.01)]
    public float Weight { get; set; } = 1f;

    /// <summary>Where in the schedule the image prompt starts acting.</summary>
    [Parameter(Description = "The fraction of the schedule where the image prompt starts acting (0 = the first, noisiest step).", Min = 0, Max = 1, Step = 0.001)]
    public float StartPercent { get; set; }

    /// <summary>Where in the schedule the image prompt stops acting.</summary>
    [Parameter(Description = "The fraction of the schedule where the image prompt stops acting (1 = the last step).", Min = 0, Max = 1, Step = 0.001)]
    public float EndPercent { get; set; } = 1f;

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
        IpKeysValues image, unconditional;
        if (model.TakesHiddenStates)
        {
            // IP-Adapter Plus: the Resampler reads every token of the tower's penultimate layer; its negative is a zero image's.
            var hidden = embeds.HiddenStates
                ?? throw new ArgumentException($"embeds: the IP-Adapter Plus '{adapter.Name}' reads the CLIP vision model's penultimate hidden states, which this encoder's graph does not give; load the CLIP vision model from its .safetensors file or folder");
            if (hidden.Width != model.EmbeddingWidth)
            {
                throw new ArgumentException($"embeds: {hidden.Width}-wide hidden states, but the IP-Adapter Plus '{adapter.Name}' takes {model.EmbeddingWidth}-wide ones; encode with the CLIP vision model it was trained with (ViT-H/14, 1280 wide, for ip-adapter-plus_sd15)");
            }

            image = model.Project(hidden.Penultimate.ToArray(), hidden.Batch, cancellationToken);
            var zeros = new float[hidden.Batch * hidden.Unconditional.Length];
            for (var b = 0; b < hidden.Batch; b++)
            {
                hidden.Unconditional.CopyTo(zeros.AsSpan(b * hidden.Unconditional.Length));
            }

            unconditional = model.Project(zeros, hidden.Batch, cancellationToken);
        }
        else
        {
            if (embeds.Width != model.EmbeddingWidth)
            {
                throw new ArgumentException($"embeds: {embeds.Width}-wide image embeddings, but the IP-Adapter '{adapter.Name}' takes {model.EmbeddingWidth}-wide ones; encode with the CLIP vision model it was trained with (ViT-H/14 for ip-adapter_sd15)");
            }

            image = model.Project(embeds.ToArray(), embeds.Batch, cancellationToken);
            // The unconditional side: zero embeddings, one per image, so the negative's image prompt has the positive's length.
            unconditional = model.Project(new float[embeds.Batch * model.EmbeddingWidth], embeds.Batch, cancellationToken);
        }

        var prompt = ImagePrompt.Of(
            new ImagePromptRow(image, Weight, StartPercent, EndPercent),
            new ImagePromptRow(unconditional, Weight, StartPercent, EndPercent));
        Result = CombinedConditionings.Each(source, part => part.With(ImagePrompt.Key, prompt));
        return Task.CompletedTask;
    }
}
