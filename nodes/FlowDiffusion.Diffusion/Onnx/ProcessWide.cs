namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// State that must be one per process although plugins load their own copy of this assembly: kept in
/// <see cref="AppContext"/>, which every copy reads. Each copy creates under its own lock, so two copies asking at the
/// same first moment could both create; the last one stored is the one every later caller gets.
/// </summary>
internal static class ProcessWide
{
    private static readonly Lock Creating = new();

    /// <summary>The value stored under <paramref name="key"/>, created by <paramref name="create"/> on first use.</summary>
    /// <param name="key">The <see cref="AppContext"/> key.</param>
    /// <param name="create">Makes the value; called at most once per copy of this assembly.</param>
    public static T GetOrCreate<T>(string key, Func<T> create)
        where T : notnull
    {
        if (AppContext.GetData(key) is T value)
        {
            return value;
        }
        lock (Creating)
        {
            if (AppContext.GetData(key) is not T created)
            {
                created = create();
                AppContext.SetData(key, created);
            }
            return created;
        }
    }
}
