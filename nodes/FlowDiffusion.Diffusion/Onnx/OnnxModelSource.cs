using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A model as a description, not an open session: the <c>.onnx</c> file, the weight overrides bound when the session
/// is created, and the session options. The session cache key: two sources with the same file, equal options and
/// overrides of equal identity share one session.
/// </summary>
public sealed class OnnxModelSource : IEquatable<OnnxModelSource>
{
    /// <summary>Describes the model at <paramref name="modelPath"/>.</summary>
    /// <param name="modelPath">The <c>.onnx</c> file; external data is found beside it.</param>
    /// <param name="options">How to create the session; <see cref="OnnxSessionOptions.Cpu"/> when omitted.</param>
    /// <param name="overrides">Weights to replace; none when omitted.</param>
    public OnnxModelSource(string modelPath, OnnxSessionOptions? options = null, WeightOverrides? overrides = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        ModelPath = Path.GetFullPath(modelPath);
        Options = options ?? OnnxSessionOptions.Cpu;
        Overrides = overrides ?? WeightOverrides.None;
    }

    /// <summary>The full path of the model file.</summary>
    public string ModelPath { get; }

    /// <summary>How the session is created.</summary>
    public OnnxSessionOptions Options { get; }

    /// <summary>The weight overrides bound when the session is created.</summary>
    public WeightOverrides Overrides { get; }

    /// <summary>This source with <paramref name="more"/> overrides applied after its own.</summary>
    public OnnxModelSource WithOverrides(IEnumerable<WeightOverride> more) => new(ModelPath, Options, Overrides.Then(more));

    /// <inheritdoc />
    public bool Equals(OnnxModelSource? other) =>
        other is not null
        && string.Equals(ModelPath, other.ModelPath, StringComparison.Ordinal)
        && Options.Equals(other.Options)
        && (ReferenceEquals(Overrides, other.Overrides) || string.Equals(Overrides.Identity, other.Overrides.Identity, StringComparison.Ordinal));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as OnnxModelSource);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(ModelPath, Options, Overrides.Identity);

    /// <summary>The file, with the number of overrides when there are any.</summary>
    public override string ToString() => Overrides.Count == 0 ? ModelPath : $"{ModelPath} (+{Overrides.Count} weight overrides)";
}
