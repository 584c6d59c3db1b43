using System.Globalization;

namespace FlowDiffusion.Sdk.Models;

/// <summary>
/// Computes a weight from a file and the weight's current value, at a strength: a LoRA delta, a checkpoint tensor read
/// on demand, a merge. Its identity is the file's full path, size and modification time, the transform's name and the
/// strength, so the file is read only when a session is created, and editing the file makes a new session.
/// </summary>
public sealed class FileWeightOverride : WeightOverride
{
    private readonly Func<FileWeightOverride, Func<WeightTensor>, CancellationToken, WeightTensor> _transform;

    /// <summary>Declares the override; nothing is read yet.</summary>
    /// <param name="name">The initializer name in the model's graph.</param>
    /// <param name="filePath">The file the value is computed from.</param>
    /// <param name="transform">
    /// A name that identifies the computation, including anything it selects from the file (e.g.
    /// <c>lora.kohya/lora_unet_down_blocks_0_attentions_0_proj_in</c>); two overrides with equal names, files and
    /// strengths must compute the same value.
    /// </param>
    /// <param name="strength">The strength the computation applies (1 for none).</param>
    /// <param name="apply">The computation: this override (for its file and strength), the current value, cancellation.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public FileWeightOverride(
        string name,
        string filePath,
        string transform,
        float strength,
        Func<FileWeightOverride, Func<WeightTensor>, CancellationToken, WeightTensor> apply)
        : base(name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(filePath);
        ArgumentException.ThrowIfNullOrWhiteSpace(transform);
        ArgumentNullException.ThrowIfNull(apply);
        var file = new FileInfo(Path.GetFullPath(filePath));
        if (!file.Exists)
        {
            throw new FileNotFoundException($"Weight file '{file.FullName}' (for weight '{name}') does not exist.", file.FullName);
        }
        FilePath = file.FullName;
        Transform = transform;
        Strength = strength;
        _transform = apply;
        Identity = string.Create(
            CultureInfo.InvariantCulture,
            $"file:{FilePath}:{file.Length}:{file.LastWriteTimeUtc.Ticks}:{Transform}:{Strength:R}");
    }

    /// <summary>The full path of the file.</summary>
    public string FilePath { get; }

    /// <summary>The name of the computation.</summary>
    public string Transform { get; }

    /// <summary>The strength.</summary>
    public float Strength { get; }

    /// <inheritdoc />
    public override string Identity { get; }

    /// <inheritdoc />
    public override WeightTensor Apply(Func<WeightTensor> current, CancellationToken cancellationToken) =>
        _transform(this, current, cancellationToken);
}
