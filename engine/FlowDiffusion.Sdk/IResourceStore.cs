namespace FlowDiffusion.Sdk;

/// <summary>
/// Host-lifetime objects a plugin shares across runs — model session caches, lookup tables — kept per plugin and
/// disposed (when <see cref="IDisposable"/>) when the host stops or the plugin is reloaded. Thread-safe.
/// </summary>
public interface IResourceStore
{
    /// <summary>The object stored under <paramref name="key"/>, created by <paramref name="factory"/> on first use.</summary>
    /// <typeparam name="T">The object's type.</typeparam>
    /// <param name="key">A key unique within the plugin.</param>
    /// <param name="factory">Creates the object; called at most once per key.</param>
    T GetOrAdd<T>(string key, Func<T> factory) where T : class;
}
