namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>Turns a decoded image, still owned by ONNX Runtime, into a result.</summary>
/// <typeparam name="TResult">What the reader makes of it.</typeparam>
/// <param name="values">float32 [B, 3, H, W], row-major; valid only during the call.</param>
/// <param name="shape">[B, 3, H, W].</param>
public delegate TResult DecodedReader<TResult>(ReadOnlySpan<float> values, int[] shape);
