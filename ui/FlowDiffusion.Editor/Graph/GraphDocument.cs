using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Graph;

/// <summary>
/// The workflow being edited. The engine's own <see cref="Workflow"/> record is the state, so what the editor
/// saves is exactly what the CLI reads; every edit replaces it with a new value and pushes the old one for undo.
/// </summary>
public sealed partial class GraphDocument
{
    private readonly UndoHistory<Workflow> _history = new();
    private int _savedRevision;

    /// <summary>Opens <paramref name="workflow"/>; nodes without a saved position are laid out.</summary>
    public GraphDocument(NodeCatalog catalog, Workflow workflow)
    {
        Catalog = catalog;
        Workflow = workflow with { Editor = (workflow.Editor ?? new EditorLayout([])) with { Positions = AutoLayout.Complete(workflow) } };
    }

    /// <summary>The node types the document is checked against.</summary>
    public NodeCatalog Catalog { get; private set; }

    /// <summary>The current workflow, with a position for every node.</summary>
    public Workflow Workflow { get; private set; }

    /// <summary>Counts edits, undo and redo included; views re-render when it changes.</summary>
    public int Revision { get; private set; }

    /// <summary>Whether there are edits since the last save or open.</summary>
    public bool IsDirty => Revision != _savedRevision;

    /// <summary>Whether an edit can be undone.</summary>
    public bool CanUndo => _history.CanUndo;

    /// <summary>Whether an undone edit can be redone.</summary>
    public bool CanRedo => _history.CanRedo;

    /// <summary>Every link, in node order then port order.</summary>
    public IEnumerable<GraphLink> Links =>
        Workflow.Nodes.SelectMany(n => n.Inputs.Select(e => new GraphLink(e.SourceNode, e.SourceOutput, n.Id, e.Port)));

    /// <summary>An empty workflow called <paramref name="name"/>.</summary>
    public static GraphDocument Empty(NodeCatalog catalog, string name = "untitled") => new(catalog, new Workflow(name, "", [], []));

    /// <summary>The node type of node <paramref name="nodeId"/>, or null when unknown.</summary>
    public NodeDescriptor? Descriptor(string nodeId) => Workflow.Node(nodeId) is { } node ? Catalog.Find(node.Type) : null;

    /// <summary>Where node <paramref name="nodeId"/> is drawn.</summary>
    public NodePosition PositionOf(string nodeId) =>
        Workflow.Editor!.Positions.FirstOrDefault(p => p.Key == nodeId).Value;

    /// <summary>The YAML to save.</summary>
    public string ToYaml() => WorkflowYamlWriter.Write(Workflow);

    /// <summary>
    /// Checks the document against <paramref name="catalog"/> from now on (plugins were reloaded). The workflow is
    /// unchanged, so this is not an edit: nothing to undo, and the document stays as dirty or clean as it was.
    /// </summary>
    public void UseCatalog(NodeCatalog catalog) => Catalog = catalog;

    /// <summary>Marks the current state as saved.</summary>
    public void MarkSaved() => _savedRevision = Revision;

    /// <summary>Goes back one edit.</summary>
    public void Undo()
    {
        if (!_history.CanUndo) return;
        Workflow = _history.Undo(Workflow);
        Revision++;
    }

    /// <summary>Goes forward one undone edit.</summary>
    public void Redo()
    {
        if (!_history.CanRedo) return;
        Workflow = _history.Redo(Workflow);
        Revision++;
    }

    /// <summary>Adds a node of <paramref name="type"/> at <paramref name="at"/>; returns its id.</summary>
    public string AddNode(string type, NodePosition at)
    {
        var id = FreeId(IdBase(type));
        Commit(Workflow with
        {
            Nodes = [.. Workflow.Nodes, new WorkflowNode(id, type, [], [])],
            Editor = Workflow.Editor! with { Positions = [.. Workflow.Editor!.Positions, new(id, at)] },
        });
        return id;
    }

    /// <summary>
    /// The nearest place at or below-right of <paramref name="at"/> where a new node of <paramref name="type"/> overlaps
    /// no node (boxes from <see cref="NodeLayout"/>'s rows and an estimate of the widgets), so added nodes never stack.
    /// </summary>
    public NodePosition FreeSpot(NodePosition at, string? type = null)
    {
        const double gap = 16, step = 40;
        var height = NodeLayout.EstimatedHeight(type is null ? null : Catalog.Find(type));
        var boxes = Workflow.Nodes.Select(n => (At: PositionOf(n.Id), Height: NodeLayout.EstimatedHeight(Catalog.Find(n.Type)))).ToList();
        var spot = at;
        for (var i = 0; i < 500; i++)
        {
            var clash = boxes.FirstOrDefault(b => spot.X < b.At.X + NodeLayout.Width + gap && b.At.X < spot.X + NodeLayout.Width + gap &&
                                                  spot.Y < b.At.Y + b.Height + gap && b.At.Y < spot.Y + height + gap);
            if (clash.Height == 0) return spot;
            // Below the node in the way, or to its right when that is a shorter move.
            var down = clash.At.Y + clash.Height + gap - spot.Y;
            var right = clash.At.X + NodeLayout.Width + gap - spot.X;
            spot = down <= right * 1.5 ? new NodePosition(spot.X, spot.Y + Math.Max(step / 4, down)) : new NodePosition(spot.X + Math.Max(step / 4, right), spot.Y);
        }
        return spot;
    }

    /// <summary>Removes nodes and every link into or out of them.</summary>
    public void RemoveNodes(IEnumerable<string> nodeIds)
    {
        var gone = nodeIds.ToHashSet(StringComparer.Ordinal);
        if (!Workflow.Nodes.Any(n => gone.Contains(n.Id))) return;
        Commit(Workflow with
        {
            Nodes = Workflow.Nodes.Where(n => !gone.Contains(n.Id))
                .Select(n => n.Inputs.Any(e => gone.Contains(e.SourceNode)) ? n with { Inputs = n.Inputs.Where(e => !gone.Contains(e.SourceNode)).ToList() } : n)
                .ToList(),
            Editor = Workflow.Editor! with
            {
                Positions = Workflow.Editor!.Positions.Where(p => !gone.Contains(p.Key)).ToList(),
                SeedControls = Workflow.Editor.SeedControls?.Where(s => NodeOf(s.Key) is not { } node || !gone.Contains(node)).ToList(),
                Collapsed = Workflow.Editor.Collapsed?.Where(id => !gone.Contains(id)).ToList(),
                Advanced = Workflow.Editor.Advanced?.Where(id => !gone.Contains(id)).ToList(),
                Pinned = Workflow.Editor.Pinned?.Where(id => !gone.Contains(id)).ToList(),
                Colors = Workflow.Editor.Colors?.Where(c => !gone.Contains(c.Key)).ToList(),
            },
        });
    }

    /// <summary>Moves nodes to new positions (one undo step for a multi-node drag).</summary>
    public void MoveNodes(IReadOnlyDictionary<string, NodePosition> positions)
    {
        var moved = Workflow.Editor!.Positions.Select(p => positions.TryGetValue(p.Key, out var to) ? new KeyValuePair<string, NodePosition>(p.Key, to) : p).ToList();
        if (moved.SequenceEqual(Workflow.Editor.Positions)) return;
        Commit(Workflow with { Editor = Workflow.Editor with { Positions = moved } });
    }

    /// <summary>
    /// Lines nodes up (one undo step): <see cref="Alignment.Left"/> and <see cref="Alignment.Top"/> move them to the
    /// leftmost left edge or topmost top; <see cref="Alignment.Horizontal"/> and <see cref="Alignment.Vertical"/> keep the
    /// outermost two and space the others evenly between them, in their current order. Fewer than two nodes (three to
    /// distribute) stay where they are.
    /// </summary>
    public void Align(IEnumerable<string> nodeIds, Alignment alignment)
    {
        var chosen = nodeIds.Distinct(StringComparer.Ordinal).Where(id => Workflow.Node(id) is not null)
            .Select(id => (Id: id, At: PositionOf(id))).ToList();
        if (chosen.Count < (alignment is Alignment.Left or Alignment.Top ? 2 : 3)) return;
        var placed = new Dictionary<string, NodePosition>(StringComparer.Ordinal);
        switch (alignment)
        {
            case Alignment.Left:
                var left = chosen.Min(n => n.At.X);
                foreach (var (id, at) in chosen) placed[id] = at with { X = left };
                break;
            case Alignment.Top:
                var top = chosen.Min(n => n.At.Y);
                foreach (var (id, at) in chosen) placed[id] = at with { Y = top };
                break;
            case Alignment.Horizontal:
                var byX = chosen.OrderBy(n => n.At.X).ThenBy(n => n.Id, StringComparer.Ordinal).ToList();
                var stepX = (byX[^1].At.X - byX[0].At.X) / (byX.Count - 1);
                for (var i = 0; i < byX.Count; i++) placed[byX[i].Id] = byX[i].At with { X = Math.Round(byX[0].At.X + i * stepX) };
                break;
            case Alignment.Vertical:
                var byY = chosen.OrderBy(n => n.At.Y).ThenBy(n => n.Id, StringComparer.Ordinal).ToList();
                var stepY = (byY[^1].At.Y - byY[0].At.Y) / (byY.Count - 1);
                for (var i = 0; i < byY.Count; i++) placed[byY[i].Id] = byY[i].At with { Y = Math.Round(byY[0].At.Y + i * stepY) };
                break;
        }
        MoveNodes(placed);
    }

    /// <summary>Sets the canvas pan and zoom; a view change, not an edit, so it is not undone.</summary>
    public void SetViewport(double x, double y, double zoom) =>
        Workflow = Workflow with { Editor = Workflow.Editor! with { Viewport = (x, y, zoom) } };

    /// <summary>Whether output <paramref name="output"/> of <paramref name="fromNode"/> may feed input <paramref name="input"/> of <paramref name="toNode"/>.</summary>
    public LinkVerdict CanConnect(string fromNode, string output, string toNode, string input)
    {
        if (fromNode == toNode) return LinkVerdict.No("A node cannot feed itself.");
        var source = Descriptor(fromNode)?.Output(output);
        var target = Descriptor(toNode)?.Input(input);
        if (source is null) return LinkVerdict.No($"'{fromNode}' has no output '{output}'.");
        if (target is null) return LinkVerdict.No($"'{toNode}' has no input '{input}'.");
        if (!target.Type.Accepts(source.Type)) return LinkVerdict.No($"{toNode}.{input} takes {target.Type.Name}, not {source.Type.Name}.");
        if (DependsOn(fromNode, toNode)) return LinkVerdict.No($"Linking {fromNode} into {toNode} would make a cycle.");
        return LinkVerdict.Yes;
    }

    /// <summary>Links the ports when allowed, replacing any link already into the input.</summary>
    public LinkVerdict Connect(string fromNode, string output, string toNode, string input)
    {
        var verdict = CanConnect(fromNode, output, toNode, input);
        if (!verdict.Allowed) return verdict;
        var edge = new NodeEdge(input, fromNode, output);
        var replaced = Workflow.Node(toNode)?.Edge(input) is { } old && (old.SourceNode != fromNode || old.SourceOutput != output);
        Commit(WithoutRoute(Replace(toNode, n =>
        {
            var inputs = n.Inputs.ToList();
            var at = inputs.FindIndex(e => e.Port == input);
            if (at >= 0) inputs[at] = edge;
            else inputs.Add(edge);
            return n with { Inputs = inputs };
        }), replaced ? toNode + "." + input : null));
        return verdict;
    }

    /// <summary>Removes the link into input <paramref name="input"/> of <paramref name="toNode"/>.</summary>
    public void Disconnect(string toNode, string input)
    {
        if (Workflow.Node(toNode)?.Edge(input) is null) return;
        Commit(Replace(toNode, n => n with { Inputs = n.Inputs.Where(e => e.Port != input).ToList() }));
    }

    /// <summary>
    /// Moves the link into <paramref name="toNode"/>.<paramref name="input"/> onto another input (one undo step), or
    /// removes it when <paramref name="newNode"/> is null (a link dragged off its input and dropped on empty canvas).
    /// </summary>
    public LinkVerdict MoveLink(string toNode, string input, string? newNode, string? newInput)
    {
        if (Workflow.Node(toNode)?.Edge(input) is not { } edge) return LinkVerdict.No($"'{toNode}.{input}' has no link.");
        if (newNode is null || newInput is null)
        {
            Disconnect(toNode, input);
            return LinkVerdict.Yes;
        }
        if (newNode == toNode && newInput == input) return LinkVerdict.Yes;
        var without = Replace(toNode, n => n with { Inputs = n.Inputs.Where(e => e.Port != input).ToList() });
        var before = Workflow;
        Workflow = without;
        var verdict = CanConnect(edge.SourceNode, edge.SourceOutput, newNode, newInput);
        Workflow = before;
        if (!verdict.Allowed) return verdict;
        var moved = new NodeEdge(newInput, edge.SourceNode, edge.SourceOutput);
        Commit(without with
        {
            Nodes = without.Nodes.Select(n => n.Id != newNode ? n
                : n with { Inputs = [.. n.Inputs.Where(e => e.Port != newInput), moved], Location = null }).ToList(),
        });
        return verdict;
    }

    /// <summary>Sets the title shown on node <paramref name="nodeId"/>; empty or the type's own title clears it.</summary>
    public void SetTitle(string nodeId, string? title)
    {
        var node = Workflow.Node(nodeId) ?? throw new ArgumentException($"No node '{nodeId}'.", nameof(nodeId));
        var next = string.IsNullOrWhiteSpace(title) || title.Trim() == Catalog.Find(node.Type)?.Title ? null : title.Trim();
        if (next == node.Title) return;
        Commit(Replace(nodeId, n => n with { Title = next }));
    }

    /// <summary>Bypasses the nodes (they pass their inputs through and do not run) or brings them back, as one edit.</summary>
    public void SetBypass(IEnumerable<string> nodeIds, bool bypass)
    {
        var chosen = nodeIds.ToHashSet(StringComparer.Ordinal);
        if (!Workflow.Nodes.Any(n => chosen.Contains(n.Id) && n.Bypass != bypass)) return;
        Commit(Workflow with { Nodes = Workflow.Nodes.Select(n => chosen.Contains(n.Id) && n.Bypass != bypass ? n with { Bypass = bypass, Location = null } : n).ToList() });
    }

    /// <summary>Sets a parameter (a literal or <c>$input</c>), or removes it when <paramref name="value"/> is null so the default applies.</summary>
    public void SetParameter(string nodeId, string name, ParameterValue? value)
    {
        var node = Workflow.Node(nodeId) ?? throw new ArgumentException($"No node '{nodeId}'.", nameof(nodeId));
        if (Equals(node.Parameter(name)?.Value, value)) return;
        Commit(WithParameter(Workflow, nodeId, name, value));
    }

    private static Workflow WithParameter(Workflow workflow, string nodeId, string name, ParameterValue? value) =>
        workflow with { Nodes = workflow.Nodes.Select(n => n.Id == nodeId ? SetIn(n, name, value) with { Location = null } : n).ToList() };

    private static WorkflowNode SetIn(WorkflowNode n, string name, ParameterValue? value)
    {
        var parameters = n.Parameters.ToList();
        var at = parameters.FindIndex(p => p.Name == name);
        if (value is null)
        {
            if (at >= 0) parameters.RemoveAt(at);
        }
        else if (at >= 0) parameters[at] = new NodeParameter(name, value);
        else parameters.Add(new NodeParameter(name, value));
        return n with { Parameters = parameters };
    }

    /// <summary>
    /// Exposes parameter <paramref name="name"/> of <paramref name="nodeId"/> as a new workflow input (named after the
    /// parameter, made unique), with the parameter's value as its default and its type, bounds, choices and description,
    /// and binds the parameter to it (<c>$input</c>), as one edit; returns the input's name.
    /// </summary>
    public string ExposeParameter(string nodeId, string name)
    {
        var node = Workflow.Node(nodeId) ?? throw new ArgumentException($"No node '{nodeId}'.", nameof(nodeId));
        var parameter = Catalog.Find(node.Type)?.Parameter(name) ?? throw new ArgumentException($"'{node.Type}' has no parameter '{name}'.", nameof(name));
        if (node.Parameter(name)?.Value is InputReference bound) return bound.InputName;
        var inputName = name;
        for (var i = 2; Workflow.Input(inputName) is not null; i++) inputName = $"{name}_{i}";
        var spec = ValueSpec.Of(parameter);
        var input = new WorkflowInput(inputName, parameter.ValueType, (node.Parameter(name)?.Value as LiteralValue)?.Value ?? parameter.Default,
            spec.Min, spec.Max, parameter.Choices.Count > 0 ? parameter.Choices : null, parameter.Description, spec.Kind.Length > 0 ? spec.Kind : null);
        Commit(WithParameter(Workflow with { Inputs = [.. Workflow.Inputs, input] }, nodeId, name, new InputReference(inputName)));
        return inputName;
    }

    /// <summary>
    /// Turns a parameter bound to a workflow input back into a literal holding the input's default, and removes the input
    /// when no other parameter uses it, as one edit.
    /// </summary>
    public void InlineParameter(string nodeId, string name)
    {
        var node = Workflow.Node(nodeId) ?? throw new ArgumentException($"No node '{nodeId}'.", nameof(nodeId));
        if (node.Parameter(name)?.Value is not InputReference bound) return;
        var value = Workflow.Input(bound.InputName)?.Default;
        var next = WithParameter(Workflow, nodeId, name, value is null ? null : new LiteralValue(value));
        var stillUsed = next.Nodes.Any(n => n.Parameters.Any(p => p.Value is InputReference r && r.InputName == bound.InputName));
        if (!stillUsed) next = next with { Inputs = next.Inputs.Where(i => i.Name != bound.InputName).ToList() };
        Commit(next);
    }

    /// <summary>Sets the default of workflow input <paramref name="name"/>: the value a run uses unless told otherwise.</summary>
    public void SetInputDefault(string name, object? value)
    {
        var input = Workflow.Input(name) ?? throw new ArgumentException($"No workflow input '{name}'.", nameof(name));
        if (Equals(input.Default, value)) return;
        Commit(Workflow with { Inputs = Workflow.Inputs.Select(i => i.Name == name ? i with { Default = value } : i).ToList() });
    }

    /// <summary>
    /// What the editor does to <paramref name="seed"/> (a workflow input name, or <c>node.parameter</c>) around each run
    /// (ComfyUI's "control after generate"); <see cref="SeedControl.Fixed"/> unless set.
    /// </summary>
    public SeedControl SeedControlOf(string seed) => Workflow.Editor!.SeedControlOf(seed);

    /// <summary>Sets a seed's control, as an edit; saved in the editor section, which only the editor reads.</summary>
    public void SetSeedControl(string seed, SeedControl control)
    {
        if (SeedControlOf(seed) == control) return;
        var controls = (Workflow.Editor!.SeedControls ?? []).Where(s => s.Key != seed).ToList();
        if (control != SeedControl.Fixed) controls.Add(new(seed, control));
        Commit(Workflow with { Editor = Workflow.Editor with { SeedControls = controls } });
    }

    /// <summary>
    /// Before a run: gives every <see cref="SeedControl.Randomize"/> seed a new value within its range, and returns the
    /// values by seed name. See <see cref="StepSeeds"/> for how such a change is kept.
    /// </summary>
    public IReadOnlyDictionary<string, long> RerollSeeds(Random random) =>
        MoveSeeds(SeedControl.Randomize, slot => slot.Range.Roll(random));

    /// <summary>
    /// After a run is queued: moves every <see cref="SeedControl.Increment"/> seed up one and every
    /// <see cref="SeedControl.Decrement"/> seed down one, wrapping around its range, and returns the new values by seed
    /// name. Not an edit: nothing to undo, and undo and redo keep the new values (every kept state that had the old
    /// value gets the new one), but the document is changed, since saving now writes other seeds.
    /// A seed whose parameter is bound to a workflow input is skipped: the input is the seed to control.
    /// </summary>
    public IReadOnlyDictionary<string, long> StepSeeds()
    {
        var stepped = new Dictionary<string, long>(MoveSeeds(SeedControl.Increment, slot => slot.Range.Step(slot.Value, up: true)), StringComparer.Ordinal);
        foreach (var (seed, value) in MoveSeeds(SeedControl.Decrement, slot => slot.Range.Step(slot.Value, up: false))) stepped[seed] = value;
        return stepped;
    }

    /// <summary>Sets the workflow's name.</summary>
    public void Rename(string name)
    {
        if (name == Workflow.Name || string.IsNullOrWhiteSpace(name)) return;
        Commit(Workflow with { Name = name });
    }

    /// <summary>
    /// The nodes as a YAML fragment (a workflow of just them, with all their input links and the workflow inputs their
    /// parameters are bound to) for the clipboard.
    /// </summary>
    public string Copy(IEnumerable<string> nodeIds)
    {
        var chosen = nodeIds.ToHashSet(StringComparer.Ordinal);
        var nodes = Workflow.Nodes.Where(n => chosen.Contains(n.Id)).Select(n => n with { Location = null }).ToList();
        var bound = nodes.SelectMany(n => n.Parameters).Select(p => p.Value).OfType<InputReference>().Select(r => r.InputName).ToHashSet(StringComparer.Ordinal);
        var inputs = Workflow.Inputs.Where(i => bound.Contains(i.Name)).Select(i => i with { Location = null }).ToList();
        var positions = Workflow.Editor!.Positions.Where(p => chosen.Contains(p.Key)).ToList();
        var seeds = (Workflow.Editor.SeedControls ?? []).Where(s => NodeOf(s.Key) is { } node && chosen.Contains(node)).ToList();
        var editor = Workflow.Editor;
        return WorkflowYamlWriter.Write(new Workflow("clipboard", "", inputs, nodes, new EditorLayout(positions, null, seeds,
            editor.Collapsed?.Where(chosen.Contains).ToList(), null, editor.Colors?.Where(c => chosen.Contains(c.Key)).ToList(),
            Advanced: editor.Advanced?.Where(chosen.Contains).ToList())));
    }

    /// <summary>
    /// Adds the nodes of a copied fragment, renamed where their ids are taken and shifted by (dx, dy), their seeds keeping
    /// their controls; the workflow inputs they are bound to come along unless an input of that name is here already
    /// (another tab's document, say), which they then use; returns the new ids.
    /// </summary>
    public IReadOnlyList<string> Paste(string yaml, double dx, double dy)
    {
        var read = WorkflowYamlReader.Read(yaml);
        if (read.Workflow is not { Nodes.Count: > 0 } fragment) return [];
        var placed = AutoLayout.Complete(fragment).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        var taken = Workflow.Nodes.Select(n => n.Id).ToHashSet(StringComparer.Ordinal);
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var node in fragment.Nodes)
        {
            var id = node.Id;
            for (var i = 2; taken.Contains(id); i++) id = $"{IdBase(node.Id)}_{i}";
            taken.Add(id);
            renamed[node.Id] = id;
        }
        // Links out of the fragment are kept only when their source exists here (pasting into the same graph).
        var nodes = fragment.Nodes.Select(n => new WorkflowNode(renamed[n.Id], n.Type,
            n.Inputs.Select(e => renamed.TryGetValue(e.SourceNode, out var s) ? e with { SourceNode = s, Location = null } : e with { Location = null })
                .Where(e => taken.Contains(e.SourceNode)).ToList(),
            n.Parameters.Select(p => p with { Location = null }).ToList(), null, n.Title, n.Bypass)).ToList();
        var positions = fragment.Nodes.Select(n => new KeyValuePair<string, NodePosition>(renamed[n.Id], new NodePosition(placed[n.Id].X + dx, placed[n.Id].Y + dy)));
        var seeds = (fragment.Editor?.SeedControls ?? [])
            .Where(s => NodeOf(s.Key) is { } node && renamed.ContainsKey(node))
            .Select(s => new KeyValuePair<string, SeedControl>(renamed[NodeOf(s.Key)!] + s.Key[s.Key.IndexOf('.', StringComparison.Ordinal)..], s.Value));
        var inputs = fragment.Inputs.Where(i => Workflow.Input(i.Name) is null).Select(i => i with { Location = null });
        Commit(Workflow with
        {
            Inputs = [.. Workflow.Inputs, .. inputs],
            Nodes = [.. Workflow.Nodes, .. nodes],
            Editor = Workflow.Editor! with
            {
                Positions = [.. Workflow.Editor!.Positions, .. positions],
                SeedControls = [.. Workflow.Editor.SeedControls ?? [], .. seeds],
                Collapsed = [.. Workflow.Editor.Collapsed ?? [], .. (fragment.Editor?.Collapsed ?? []).Where(renamed.ContainsKey).Select(id => renamed[id])],
                Advanced = [.. Workflow.Editor.Advanced ?? [], .. (fragment.Editor?.Advanced ?? []).Where(renamed.ContainsKey).Select(id => renamed[id])],
                Colors = [.. Workflow.Editor.Colors ?? [], .. (fragment.Editor?.Colors ?? []).Where(c => renamed.ContainsKey(c.Key)).Select(c => new KeyValuePair<string, NodeColor>(renamed[c.Key], c.Value))],
            },
        });
        return nodes.Select(n => n.Id).ToList();
    }

    /// <summary>Copies and pastes the nodes next to themselves; returns the new ids.</summary>
    public IReadOnlyList<string> Duplicate(IEnumerable<string> nodeIds) => Paste(Copy(nodeIds), 40, 40);

    private void Commit(Workflow next)
    {
        _history.Push(Workflow);
        Workflow = Tidy(next);
        Revision++;
    }

    // Sets the seeds under `control` to `next` of each, as a change that is no undo step; the new values by seed name.
    private Dictionary<string, long> MoveSeeds(SeedControl control, Func<SeedSlot, long> next)
    {
        var moved = new Dictionary<string, long>(StringComparer.Ordinal);
        var workflow = Workflow;
        var changes = new List<(SeedSlot Before, long After)>();
        foreach (var (seed, _) in (Workflow.Editor!.SeedControls ?? []).Where(s => s.Value == control))
        {
            if (SeedSlot.Find(workflow, Catalog, seed) is not { } slot) continue;
            moved[seed] = next(slot);
            if (slot.Value == moved[seed]) continue;
            workflow = slot.Set(workflow, moved[seed]);
            changes.Add((slot, moved[seed]));
        }
        if (changes.Count == 0) return moved;
        _history.Rewrite(state => changes.Aggregate(state, (kept, change) =>
            SeedSlot.Find(kept, Catalog, change.Before.Name) is { } slot && slot.Value == change.Before.Value ? slot.Set(kept, change.After) : kept));
        Workflow = workflow;
        Revision++;
        return moved;
    }

    // The node id of a `node.parameter` seed name; null for a workflow input's name.
    private static string? NodeOf(string seed) => seed.IndexOf('.', StringComparison.Ordinal) is > 0 and var dot ? seed[..dot] : null;

    private Workflow Replace(string nodeId, Func<WorkflowNode, WorkflowNode> change) =>
        Workflow with { Nodes = Workflow.Nodes.Select(n => n.Id == nodeId ? change(n) with { Location = null } : n).ToList() };

    private bool DependsOn(string nodeId, string ancestor)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([nodeId]);
        while (pending.TryPop(out var id))
        {
            if (id == ancestor) return true;
            if (!seen.Add(id)) continue;
            foreach (var edge in Workflow.Node(id)?.Inputs ?? []) pending.Push(edge.SourceNode);
        }
        return false;
    }

    private string FreeId(string stem)
    {
        if (Workflow.Node(stem) is null) return stem;
        for (var i = 2; ; i++)
        {
            if (Workflow.Node($"{stem}_{i}") is null) return $"{stem}_{i}";
        }
    }

    private static string IdBase(string typeOrId)
    {
        var stem = typeOrId[(typeOrId.LastIndexOf('.') + 1)..];
        var suffix = stem.LastIndexOf('_');
        if (suffix > 0 && stem[(suffix + 1)..].All(char.IsAsciiDigit)) stem = stem[..suffix];
        return stem.Replace('-', '_');
    }
}
