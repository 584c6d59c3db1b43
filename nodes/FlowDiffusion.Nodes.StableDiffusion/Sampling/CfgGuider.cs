using System.Buffers;
using System.Numerics.Tensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// Classifier-free guidance: ε = ε_u + s·(ε_c − ε_u), the unconditional and conditional halves evaluated as ONE
/// batch (negatives first). Scale 1 evaluates the positive half only.
/// </summary>
/// <remarks>
/// Per step it only rents the doubled model input (returned after the call) and allocates the guided result: the
/// stacked [negative; positive] context is built once per batch size, since the conditionings never change.
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
        float[] both;
        try
        {
            input.ModelInput.Span.CopyTo(doubled);
            input.ModelInput.Span.CopyTo(doubled.AsSpan(shape.Length));
            var batch = new DenoiserInput(doubled.AsMemory(0, 2 * shape.Length), shape.WithBatch(2 * shape.Batch), input.Timestep, Context(shape.Batch));
            both = await denoiser.PredictAsync(batch, cancellationToken);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(doubled);
        }
        var half = both.Length / 2;
        var result = new float[half];
        Combine(both.AsSpan(0, half), both.AsSpan(half), scale, result);
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
