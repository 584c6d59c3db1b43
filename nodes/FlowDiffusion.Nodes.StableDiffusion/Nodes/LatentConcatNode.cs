using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Joins two latents side by side or one above the other, as ComfyUI's LatentConcat.</summary>
[Node("latent.concat", "1.0.0", Category = "latent", Title = "Concatenate Latents",
    Description = "samples1 then samples2 along a dimension, as ComfyUI's LatentConcat: x joins them left to right, y top to bottom, t along the axis before height (an image latent's channels); a leading minus puts samples2 first. samples2's items are repeated (or cut) to samples1's batch, item i taking item i mod its batch; the other dimensions must match. The result keeps samples1's seeds and noise indices.")]
public sealed class LatentConcatNode : INode
{
    /// <summary>The first latents.</summary>
    [Input(Description = "The first latents; the result keeps their batch, seeds and noise indices.")]
    public Latent? Samples1 { get; set; }

    /// <summary>The second latents.</summary>
    [Input(Description = "The latents joined to them, repeated or cut to their batch.")]
    public Latent? Samples2 { get; set; }

    /// <summary>The dimension.</summary>
    [Parameter(Description = "x: left to right; y: top to bottom; t: the channels of an image latent; -x, -y, -t: samples2 first.", Choices = ["x", "-x", "y", "-y", "t", "-t"])]
    public string Dim { get; set; } = "x";

    /// <summary>The joined latents.</summary>
    [Output(Description = "The two latents joined along the dimension.")]
    public Latent? Concatenated { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Latent first = Samples1!, second = Samples2!;
        var axis = LatentAxis.Of(first, Dim);
        var other = LatentAxis.Of(second, Dim);
        int[] firstShape = axis.Shape(first, 0), secondShape = other.Shape(second, 0);
        for (var d = 1; d < 4; d++)
        {
            if (firstShape[d] != secondShape[d])
                throw new ArgumentException($"samples2 is [{second.Batch}, {second.Channels}, {second.Height}, {second.Width}] and samples1 [{first.Batch}, {first.Channels}, {first.Height}, {first.Width}]: to join along {Dim} they must match in every other dimension but the batch");
        }

        // ComfyUI's repeat_to_batch_size: samples2's item b is item b mod its batch.
        var outer = axis.Outer / first.Batch;
        int firstBlock = axis.Length * axis.Inner, secondBlock = other.Length * other.Inner;
        var values = new float[first.Values.Length + first.Batch * outer * secondBlock];
        var reversed = Dim.StartsWith('-');
        for (var b = 0; b < first.Batch; b++)
        for (var o = 0; o < outer; o++)
        {
            var a = first.Values.Slice((b * outer + o) * firstBlock, firstBlock);
            var c = second.Values.Slice(((b % second.Batch) * outer + o) * secondBlock, secondBlock);
            var target = values.AsSpan((b * outer + o) * (firstBlock + secondBlock), firstBlock + secondBlock);
            (reversed ? c : a).CopyTo(target);
            (reversed ? a : c).CopyTo(target[(reversed ? secondBlock : firstBlock)..]);
        }

        var shape = axis.Shape(first, axis.Length + other.Length);
        Concatenated = new Latent(shape[0], shape[1], shape[2], shape[3], values, first.Seeds) { NoiseIndices = first.NoiseIndices };
        return Task.CompletedTask;
    }
}
