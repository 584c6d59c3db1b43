using System.Collections;
using System.Security.Cryptography;
using System.Text;

namespace FlowDiffusion.Sdk.Models;

/// <summary>
/// An ordered, immutable list of weight overrides with one identity for the whole list (the session cache key's part
/// for weights). Order matters: overrides of one weight apply first to last.
/// </summary>
public sealed class WeightOverrides : IReadOnlyList<WeightOverride>
{
    private readonly WeightOverride[] _items;
    private readonly Lazy<string> _identity;

    private WeightOverrides(WeightOverride[] items)
    {
        _items = items;
        _identity = new Lazy<string>(() => items.Length == 0
            ? string.Empty
            : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
                string.Join('\n', items.Select(o => o.Name + "\t" + o.Identity))))));
    }

    /// <summary>No overrides: the graph's own weights.</summary>
    public static WeightOverrides None { get; } = new([]);

    /// <summary>
    /// A hash of every override's name and identity, in order; empty for <see cref="None"/>. Equal identities mean
    /// equal weights.
    /// </summary>
    public string Identity => _identity.Value;

    /// <inheritdoc />
    public int Count => _items.Length;

    /// <inheritdoc />
    public WeightOverride this[int index] => _items[index];

    /// <summary>The names of the weights these overrides change, each once.</summary>
    public IReadOnlySet<string> Names => _items.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);

    /// <summary>A list of <paramref name="overrides"/>, in order.</summary>
    /// <param name="overrides">The overrides.</param>
    public static WeightOverrides Of(IEnumerable<WeightOverride> overrides)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        WeightOverride[] items = [.. overrides];
        return items.Length == 0 ? None : new WeightOverrides(items);
    }

    /// <summary>These overrides followed by <paramref name="more"/>, which apply after them.</summary>
    /// <param name="more">The overrides to add.</param>
    public WeightOverrides Then(IEnumerable<WeightOverride> more)
    {
        ArgumentNullException.ThrowIfNull(more);
        WeightOverride[] added = [.. more];
        return added.Length == 0 ? this : new WeightOverrides([.. _items, .. added]);
    }

    /// <inheritdoc />
    public IEnumerator<WeightOverride> GetEnumerator() => ((IEnumerable<WeightOverride>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
