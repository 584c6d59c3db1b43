using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Weights;

/// <summary>
/// One tensor of a checkpoint under its canonical (diffusers) name: where it is stored and, when the canonical layout
/// differs from the stored one (LDM's 1×1-conv VAE attention against diffusers' linear), the shape it takes.
/// </summary>
public sealed record StoredTensor(SafetensorsFile File, SafetensorsTensor Tensor, long[] Shape)
{
    /// <summary>The values as float32 (F32, F16, BF16 and F64 convert exactly as far as float32 holds them).</summary>
    public float[] ReadFloat32() => File.ReadFloat32(Tensor.Name);

    /// <summary>Where it came from, for messages: <c>file: tensor</c>.</summary>
    public string Origin => $"{File.Path}: {Tensor.Name}";
}
