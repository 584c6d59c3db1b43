namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// Where the time spent inside ONNX Runtime's <c>Run</c> is counted: code that causes runs (a node) sets a meter for the
/// work that follows, across awaits and into the tasks it starts, and every model run made by that work adds its own
/// time to it — not a wait for a CPU turn, and not the runs other work makes with the same model at the same time — and
/// whether it handed its arena's free memory back (<see cref="OnnxArenaRelease"/>).
/// </summary>
public static class OnnxRunMeter
{
    private static readonly AsyncLocal<Action<TimeSpan, bool>?> Current = new();

    /// <summary>Counts the runs of the work that follows, up to the scope's end, with <paramref name="meter"/>.</summary>
    /// <param name="meter">
    /// Called after each run with its time and whether it released its arena's free memory; it may be called from several
    /// threads at once.
    /// </param>
    /// <returns>The scope; disposing it restores the previous meter.</returns>
    public static Scope Attribute(Action<TimeSpan, bool> meter)
    {
        var previous = Current.Value;
        Current.Value = meter;
        return new Scope(previous);
    }

    /// <summary>Adds a run to the current meter, if any.</summary>
    internal static void Add(TimeSpan elapsed, bool releasedArena) => Current.Value?.Invoke(elapsed, releasedArena);

    /// <summary>Restores the meter that was current before <see cref="Attribute"/>.</summary>
    /// <param name="previous">The meter to restore.</param>
    public readonly struct Scope(Action<TimeSpan, bool>? previous) : IDisposable
    {
        /// <summary>Restores the previous meter.</summary>
        public void Dispose() => Current.Value = previous;
    }
}
