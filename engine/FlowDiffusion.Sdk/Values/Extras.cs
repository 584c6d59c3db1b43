using System.Collections;
using System.Collections.Immutable;

namespace FlowDiffusion.Sdk.Values;

/// <summary>
/// An immutable set of extra model inputs, each stored under an <see cref="ExtraKey{T}"/>: what a
/// <see cref="Conditioning"/> carries beside its text embeddings and what a denoiser reads from
/// <see cref="Diffusion.DenoiserInput.Extras"/>. Adding returns a new set; the original is unchanged.
/// </summary>
/// <example>
/// <code>
/// public static readonly ExtraKey&lt;ExtraTensor&gt; Hint = ExtraKey.Tensor("mypack.hint");
/// var conditioned = positive.With(Hint, new ExtraTensor([1, 3, 64, 64], pixels));
/// if (input.Extras.TryGet(Hint, out var hint)) { ... }
/// </code>
/// </example>
public sealed class Extras : IReadOnlyCollection<ExtraKey>
{
    private readonly ImmutableSortedDictionary<string, (ExtraKey Key, object Value)> _items;

    private Extras(ImmutableSortedDictionary<string, (ExtraKey Key, object Value)> items) => _items = items;

    /// <summary>The set with no extras.</summary>
    public static Extras Empty { get; } = new(ImmutableSortedDictionary.Create<string, (ExtraKey, object)>(StringComparer.Ordinal));

    /// <summary>The number of extras.</summary>
    public int Count => _items.Count;

    /// <summary>Whether the set holds no extras.</summary>
    public bool IsEmpty => _items.IsEmpty;

    /// <summary>The names of the extras present, in ordinal order.</summary>
    public IEnumerable<string> Names => _items.Keys;

    /// <summary>A set with <paramref name="value"/> stored under <paramref name="key"/>, replacing any value of that name.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="key">The kind.</param>
    /// <param name="value">The value.</param>
    public Extras With<T>(ExtraKey<T> key, T value) where T : class
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        return new Extras(_items.SetItem(key.Name, (key, value)));
    }

    /// <summary>A set without the extra named by <paramref name="key"/>.</summary>
    /// <param name="key">The kind to remove.</param>
    public Extras Without(ExtraKey key) => new(_items.Remove(key.Name));

    /// <summary>A set with every extra of <paramref name="other"/> added, its values replacing ones of the same name.</summary>
    /// <param name="other">The extras to add.</param>
    public Extras With(Extras other)
    {
        if (other.IsEmpty) return this;
        if (IsEmpty) return other;
        return new Extras(_items.SetItems(other._items));
    }

    /// <summary>Whether an extra of the key's name is present.</summary>
    /// <param name="key">The kind.</param>
    public bool Contains(ExtraKey key) => _items.ContainsKey(key.Name);

    /// <summary>Gets the value stored under <paramref name="key"/>, if any.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="key">The kind.</param>
    /// <param name="value">The value, or null when absent.</param>
    /// <returns>Whether it is present.</returns>
    /// <exception cref="InvalidCastException">An extra of that name holds another type (two packs disagree on the kind).</exception>
    public bool TryGet<T>(ExtraKey<T> key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? value) where T : class
    {
        if (!_items.TryGetValue(key.Name, out var item))
        {
            value = null;
            return false;
        }
        value = item.Value as T ?? throw new InvalidCastException(
            $"the extra '{key.Name}' holds a {item.Value.GetType().FullName}, not the {typeof(T).FullName} this key reads; two packs declare '{key.Name}' with different types");
        return true;
    }

    /// <summary>Gets the value stored under <paramref name="key"/>.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="key">The kind.</param>
    /// <exception cref="KeyNotFoundException">It is absent; the message names it and the extras present.</exception>
    public T Get<T>(ExtraKey<T> key) where T : class =>
        TryGet(key, out var value) ? value
            : throw new KeyNotFoundException($"no extra '{key.Name}' on this input (it has {(IsEmpty ? "none" : string.Join(", ", Names))}); connect the node that adds it");

    /// <summary>
    /// The extras of one batched model call whose rows are filled by <paramref name="parts"/> in order: every kind any
    /// part carries, combined by its key (<see cref="ExtraKey{T}.Combine(IReadOnlyList{ExtraPart{T}})"/>).
    /// </summary>
    /// <param name="parts">Each part's extras and the number of rows it fills; a single part is returned as it is.</param>
    /// <exception cref="ArgumentException">A kind cannot be batched (missing on a part, shapes differ); the message names it.</exception>
    public static Extras Combine(IReadOnlyList<(Extras Extras, int Rows)> parts)
    {
        if (parts.Count == 1 || parts.All(p => p.Extras.IsEmpty)) return parts.Count == 0 ? Empty : parts[0].Extras;
        var result = Empty._items.ToBuilder();
        foreach (var name in parts.SelectMany(p => p.Extras.Names).Distinct(StringComparer.Ordinal))
        {
            var key = parts.Select(p => p.Extras._items.TryGetValue(name, out var item) ? item.Key : null).First(k => k is not null)!;
            var values = parts.Select(p => (p.Extras._items.TryGetValue(name, out var item) ? item.Value : null, p.Rows)).ToList();
            try
            {
                result[name] = (key, key.Combine(values));
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"extra '{name}': {e.Message}", e);
            }
        }
        return new Extras(result.ToImmutable());
    }

    /// <inheritdoc />
    public IEnumerator<ExtraKey> GetEnumerator() => _items.Values.Select(v => v.Key).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public override string ToString() => IsEmpty ? "(no extras)" : string.Join(", ", Names);
}
