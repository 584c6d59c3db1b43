namespace FlowDiffusion.Imaging;

/// <summary>
/// Splits [0, count) into bands of a given size and runs them on all cores (inline when there is one band): for the
/// image-size loops that run between ONNX Runtime calls, when the cores are otherwise idle.
/// </summary>
public static class ParallelBands
{
    /// <summary>Calls <paramref name="band"/>(start, end) for consecutive bands of <paramref name="size"/> items covering [0, <paramref name="count"/>).</summary>
    public static void Run(int count, int size, Action<int, int> band)
    {
        size = Math.Max(1, size);
        var bands = (count + size - 1) / size;
        if (bands <= 1 || Environment.ProcessorCount == 1)
        {
            band(0, count);
            return;
        }
        Parallel.For(0, bands, b => band(b * size, Math.Min(count, (b + 1) * size)));
    }
}
