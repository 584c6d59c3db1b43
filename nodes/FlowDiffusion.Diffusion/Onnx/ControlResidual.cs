namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>One ControlNet output as the UNet takes it: <c>down_block_i</c> or <c>mid_block_res_sample</c>, float32 values and shape.</summary>
/// <param name="Name">The tensor name both graphs use.</param>
/// <param name="Values">The values, row-major.</param>
/// <param name="Shape">[batch, channels, h, w].</param>
public sealed record ControlResidual(string Name, float[] Values, long[] Shape)
{
    /// <summary>
    /// Each channel of each row replaced by its mean over height and width: a ControlNet 1.1 shuffle model's global
    /// average pooling, as the original ControlNet and ComfyUI apply it to the residuals before the strength.
    /// </summary>
    public ControlResidual PooledGlobally()
    {
        var pixels = (int)(Shape[2] * Shape[3]);
        var pooled = new float[Values.Length];
        for (var start = 0; start < Values.Length; start += pixels)
        {
            var sum = 0.0;
            foreach (var v in Values.AsSpan(start, pixels))
            {
                sum += v;
            }

            pooled.AsSpan(start, pixels).Fill((float)(sum / pixels));
        }

        return this with { Values = pooled };
    }
}
