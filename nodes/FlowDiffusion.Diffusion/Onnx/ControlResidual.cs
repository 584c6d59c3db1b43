namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>One ControlNet output as the UNet takes it: <c>down_block_i</c> or <c>mid_block_res_sample</c>, float32 values and shape.</summary>
/// <param name="Name">The tensor name both graphs use.</param>
/// <param name="Values">The values, row-major.</param>
/// <param name="Shape">[batch, channels, h, w].</param>
public sealed record ControlResidual(string Name, float[] Values, long[] Shape);
