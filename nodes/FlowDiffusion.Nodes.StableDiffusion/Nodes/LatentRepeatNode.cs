using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Repeats a latent batch, as ComfyUI's RepeatLatentBatch.</summary>
[Node("latent.repeat", "1.0.0", Category = "latent", Title = "Repeat Latent Batch",
    Description = "The whole batch repeated amount times, one after another (a batch of 2 repeated 3 times is 6: a, b, a, b, a, b), up to a batch of 64 as latent.empty allows. Variations of one image: diffusion.ksampler draws its noise for the whole batch, so each copy gets its own. Latents cut from a batch (latent.from_batch) keep noise indices; copy i takes them shifted by i × their span, as ComfyUI's batch_index.")]
public sealed class LatentRepeatNode : INode
{
    private const int MaxBatch = 64;

    /// <summary>The latents.</summary>
    [Input(Description = "The latents to repeat.")]
    public Latent? Latent { get; set; }

    /// <summary>How many copies.</summary>
    [Parameter(Description = "How many times the batch appears in the result.", Min = 1, Max = 64)]
    public int Amount { get; set; } = 1;

    /// <summary>The repeated batch.</summary>
    [Output(Description = "Amount × the batch.")]
    public Latent? Repeated { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var latent = Latent!;
        if (Amount is < 1 or > 64) throw new ArgumentException($"amount must be 1 … 64; got {Amount}");
        if ((long)latent.Batch * Amount > MaxBatch)
            throw new ArgumentException($"amount {Amount} × a batch of {latent.Batch} is {latent.Batch * Amount} images; at most {MaxBatch}, as latent.empty allows");
        var values = new float[latent.Values.Length * Amount];
        for (var i = 0; i < Amount; i++) latent.Values.CopyTo(values.AsSpan(i * latent.Values.Length));
        var seeds = latent.Seeds is null ? null : Enumerable.Repeat(latent.Seeds, Amount).SelectMany(s => s).ToList();
        Repeated = new Latent(latent.Batch * Amount, latent.Channels, latent.Height, latent.Width, values, seeds) { NoiseIndices = RepeatedIndices(latent.NoiseIndices) };
        return Task.CompletedTask;
    }

    // As ComfyUI's batch_index: copy i of the batch shifted by i × the span of its indices (max − min + 1).
    private IReadOnlyList<int>? RepeatedIndices(IReadOnlyList<int>? indices)
    {
        if (indices is null) return null;
        var span = indices.Max() - indices.Min() + 1;
        if (indices.Max() + (long)(Amount - 1) * span > Latent.MaxNoiseIndex)
            throw new ArgumentException($"amount {Amount}: the copies' noise indices would pass {Latent.MaxNoiseIndex} (the latents were cut from a batch, so each copy takes noise beyond the last)");
        return Enumerable.Range(0, Amount).SelectMany(i => indices.Select(index => index + i * span)).ToList();
    }
}
