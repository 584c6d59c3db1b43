namespace FlowDiffusion.Editor.Graph;

/// <summary>Undo and redo over immutable snapshots: every edit pushes the state it replaced.</summary>
public sealed class UndoHistory<T>(int capacity = 200)
{
    private readonly LinkedList<T> _undo = new();
    private readonly Stack<T> _redo = new();

    /// <summary>Whether there is an edit to undo.</summary>
    public bool CanUndo => _undo.Count > 0;

    /// <summary>Whether there is an undone edit to redo.</summary>
    public bool CanRedo => _redo.Count > 0;

    /// <summary>Records <paramref name="before"/> as the state an edit replaced; a new edit clears the redo stack.</summary>
    public void Push(T before)
    {
        _undo.AddLast(before);
        if (_undo.Count > capacity) _undo.RemoveFirst();
        _redo.Clear();
    }

    /// <summary>
    /// Applies <paramref name="change"/> to every state kept for undo and redo: a change that is not an edit of its own
    /// (a seed moved by a run) is carried into history, so undo and redo neither undo it nor bring back what it replaced.
    /// </summary>
    public void Rewrite(Func<T, T> change)
    {
        for (var node = _undo.First; node is not null; node = node.Next) node.Value = change(node.Value);
        var redo = _redo.Select(change).Reverse().ToList();
        _redo.Clear();
        foreach (var state in redo) _redo.Push(state);
    }

    /// <summary>The state to go back to from <paramref name="current"/>.</summary>
    public T Undo(T current)
    {
        var previous = _undo.Last!.Value;
        _undo.RemoveLast();
        _redo.Push(current);
        return previous;
    }

    /// <summary>The state to go forward to from <paramref name="current"/>.</summary>
    public T Redo(T current)
    {
        var next = _redo.Pop();
        _undo.AddLast(current);
        return next;
    }
}
