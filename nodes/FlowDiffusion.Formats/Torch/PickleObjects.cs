namespace FlowDiffusion.Formats.Torch;

// The values a pickle builds here. Python's own objects are never made: a global is only its name, and a call to
// anything but the few tensor rebuilders below stays an inert record of the call, so reading a pickle runs no code.

/// <summary>A global named by the pickle (<c>module.name</c>), never resolved to anything that runs.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public string FullName => $"{Module}.{Name}";
}

/// <summary>The inert result of calling or instantiating <see cref="Callable"/>, which is not rebuilt.</summary>
internal sealed record PickleCall(object? Callable)
{
    public string Describe() => Callable is PickleGlobal global ? $"a call to {global.FullName}" : "a call";
}

/// <summary>A dictionary in insertion order (Python's dict and OrderedDict); a repeated key keeps its first place.</summary>
internal sealed class PickleDict
{
    private readonly List<KeyValuePair<object?, object?>> _items = [];
    private readonly Dictionary<object, int> _index = [];

    public IReadOnlyList<KeyValuePair<object?, object?>> Items => _items;

    public void Set(object? key, object? value)
    {
        var indexable = key is string or long or bool;
        if (indexable && _index.TryGetValue(key!, out var at))
        {
            _items[at] = new(key, value);
            return;
        }

        if (indexable)
        {
            _index[key!] = _items.Count;
        }

        _items.Add(new(key, value));
    }

    public object? Get(string key) => _index.TryGetValue(key, out var at) ? _items[at].Value : null;
}

/// <summary>A list, set or frozenset's items.</summary>
internal sealed class PickleList
{
    public List<object?> Items { get; } = [];
}

/// <summary>A storage a tensor views: torch's storage class name, its entry key under <c>data/</c>, its element count.</summary>
internal sealed record TorchStorage(string TypeName, string Key, long ElementCount);

/// <summary>A tensor as <c>torch._utils._rebuild_tensor_v2</c> describes it: a view of a storage.</summary>
internal sealed record TorchTensorView(TorchStorage Storage, long StorageOffset, long[] Shape, long[] Stride);
