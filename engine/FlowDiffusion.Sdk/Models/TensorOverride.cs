using System.Security.Cryptography;

namespace FlowDiffusion.Sdk.Models;

/// <summary>Replaces a weight by a given tensor (a checkpoint's value, say); its identity is a hash of the contents.</summary>
public sealed class TensorOverride : WeightOverride
{
    private readonly Lazy<string> _identity;

    /// <summary>Replaces the weight <paramref name="name"/> by <paramref name="value"/>.</summary>
    /// <param name="name">The initializer name in the model's graph.</param>
    /// <param name="value">The new value.</param>
    public TensorOverride(string name, WeightTensor value)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(value);
        Value = value;
        // Hashing a large tensor takes a while; it happens once, when a cache key first needs it.
        _identity = new Lazy<string>(() => $"sha256:{Convert.ToHexStringLower(SHA256.HashData(value.Data.Span))}:{value}");
    }

    /// <summary>The new value.</summary>
    public WeightTensor Value { get; }

    /// <inheritdoc />
    public override string Identity => _identity.Value;

    /// <inheritdoc />
    public override WeightTensor Apply(Func<WeightTensor> current, CancellationToken cancellationToken) => Value;
}
