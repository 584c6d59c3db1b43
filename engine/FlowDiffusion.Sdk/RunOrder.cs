namespace FlowDiffusion.Sdk;

/// <summary>
/// Which run the code now executing works for, numbered in the order runs were started. The host numbers each run as it
/// starts it and marks the run's work with the number; the mark flows with that work across awaits and into the tasks it
/// starts. Code that runs share (model sessions, say) reads it to serve older runs first where runs take turns on one
/// resource, so that of two runs at once the first finishes about as soon as it would alone.
/// </summary>
public static class RunOrder
{
    private static readonly AsyncLocal<long?> Marked = new();
    private static long _last;

    /// <summary>The number of the run the current code works for, or null when it works for none.</summary>
    public static long? Current => Marked.Value;

    /// <summary>Takes the next number, one above every number taken before: what a run started now gets.</summary>
    public static long Next() => Interlocked.Increment(ref _last);

    /// <summary>
    /// Marks the code that follows, up to the scope's end, as the work of run <paramref name="number"/>. Hosts take a
    /// number with <see cref="Next"/> when they start a run and mark the run's work with it; nodes need not.
    /// </summary>
    /// <param name="number">The run's number, from <see cref="Next"/>.</param>
    /// <returns>The scope; disposing it restores the previous mark.</returns>
    public static Scope Mark(long number)
    {
        var previous = Marked.Value;
        Marked.Value = number;
        return new Scope(previous);
    }

    /// <summary>Restores the mark that was current before <see cref="Mark"/>.</summary>
    /// <param name="previous">The mark to restore.</param>
    public readonly struct Scope(long? previous) : IDisposable
    {
        /// <summary>Restores the previous mark.</summary>
        public void Dispose() => Marked.Value = previous;
    }
}
