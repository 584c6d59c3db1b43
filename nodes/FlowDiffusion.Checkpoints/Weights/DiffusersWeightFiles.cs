namespace FlowDiffusion.Checkpoints.Weights;

/// <summary>
/// The weight file names diffusers and transformers write into a component's folder, in the order they are looked for:
/// safetensors first, then PyTorch's <c>.bin</c> (older repositories have only these; they are read without running
/// their pickles).
/// </summary>
public static class DiffusersWeightFiles
{
    /// <summary>A diffusers model's (UNet, VAE, ControlNet, T2I-Adapter): <c>diffusion_pytorch_model(.fp16).safetensors</c>, then <c>.bin</c>.</summary>
    public static IReadOnlyList<string> Model { get; } =
        ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors", "diffusion_pytorch_model.bin", "diffusion_pytorch_model.fp16.bin"];

    /// <summary>A transformers model's (the text encoders, CLIP vision): <c>model(.fp16).safetensors</c>, then <c>pytorch_model(.fp16).bin</c>.</summary>
    public static IReadOnlyList<string> Transformers { get; } = ["model.safetensors", "model.fp16.safetensors", "pytorch_model.bin", "pytorch_model.fp16.bin"];

    /// <summary>The first of <paramref name="names"/> that exists in <paramref name="folder"/>, or null.</summary>
    public static string? Find(string folder, IEnumerable<string> names) => names.Select(n => Path.Combine(folder, n)).FirstOrDefault(File.Exists);

    /// <summary>Whether <paramref name="file"/> is one of these names (a folder's fingerprint counts them).</summary>
    public static bool IsOne(FileInfo file) => Model.Contains(file.Name) || Transformers.Contains(file.Name);
}
