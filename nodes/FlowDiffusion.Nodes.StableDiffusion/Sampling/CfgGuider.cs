using System.Buffers;
using System.Numerics.Tensors;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// Classifier-free guidance: ε = ε_u + s·(ε_c − ε_u), the unconditional and conditional halves evaluated as ONE
/// batch (negatives first). Scale 1 evaluates the positive half only.
/// </summary>
/// <remarks>
/// Per step it rents the doubled model input (and, with the pack's own UNet, the doubled prediction) and allocates
/// only the guided result: the stacked [negative; positive] context is built once per batch size, since the
/// conditionings never change.
/// </remarks>
internal sealed class CfgGuider(IDenoiser denoiser, Conditioning positive, Conditioning negative, float scale) : IGuider
{
    private (int Batch, Conditioning Context)? _stacked;

    public int InChannels => denoiser.InChannels;

    public async Task<float[]> PredictAsync(GuidanceInput input, CancellationToken cancellationToken)
    {
        var shape = input.Shape;
        if (scale == 1f)
            return await denoiser.PredictAsync(new DenoiserInput(input.ModelInput, shape, input.Timestep, positive), cancellationToken);

        var doubled = ArrayPool<float>.Shared.Rent(2 * shape.Length);
        try
        {
            input.ModelInput.Span.CopyTo(doubled);
            input.ModelInput.Span.CopyTo(doubled.AsSpan(shape.Length));
            var batch = new DenoiserInput(doubled.AsMemory(0, 2 * shape.Length), shape.WithBatch(2 * shape.Batch), input.Timestep, Context(shape.Batch));
            if (denoiser is not OnnxUNetModel unet)
            {
                var both = await denoiser.PredictAsync(batch, cancellationToken);
                return Combine(both, both.Length / 2);
            }
            // The pack's own UNet predicts into a rented buffer: no large allocation per step.
            var length = 2 * shape.Batch * unet.Model.OutChannels * shape.Height * shape.Width;
            var rented = ArrayPool<float>.Shared.Rent(length);
            try
            {
                await unet.PredictAsync(batch, rented.AsMemory(0, length), cancellationToken);
                return Combine(rented, length / 2);
            }
            finally
            {
                ArrayPool<float>.Shared.Return(rented);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(doubled);
        }
    }

    // The unconditional half first, then the conditional half, each `half` long.
    private float[] Combine(float[] both, int half)
    {
        var result = new float[half];
        Combine(both.AsSpan(0, half), both.AsSpan(half, half), scale, result);
        return result;
    }

    /// <summary>u + s·(c − u) element-wise, rounded exactly as the scalar expression (a multiply then an add, not fused).</summary>
    internal static void Combine(ReadOnlySpan<float> unconditional, ReadOnlySpan<float> conditional, float scale, Span<float> result)
    {
        TensorPrimitives.Subtract(conditional, unconditional, result);
        TensorPrimitives.MultiplyAdd(result, scale, unconditional, result);
    }

    private Conditioning Context(int batch)
    {
        if (_stacked is { } cached && cached.Batch == batch) return cached.Context;
        var context = ConditioningBatch.Stack(negative, positive, batch);
        _stacked = (batch, context);
        return context;
    }
}
