using System.Net;
using FlowDiffusion.Client;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Editor.Graph;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Plugins;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Validation;
using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Server.Models;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Editor.Running;

/// <summary>
/// One browser tab's editor: the open document, selection, live validation, clipboard and the current run.
/// Runs go through the run backend the HTTP API uses (<see cref="IRunBackend"/>); their events (previews included) come
/// pushed from its event bus as engine objects, so previews arrive as images without a round trip through HTTP.
/// When the engine reloads its plugins the session raises <see cref="Changed"/>; the open document follows the new
/// node types in <see cref="CatchUpWithPlugins"/>, called on the circuit's thread like every other change to the session.
/// Run while a run of this tab is going queues another behind it (ComfyUI's Queue): the tab shows one run at a time,
/// the executing one, and moves on to the next of <see cref="QueuedRuns"/> when it ends.
/// With a <see cref="Server"/> (the editor started with <c>--server</c>) runs are queued on that server instead, through
/// the typed client, and followed on its event stream (re-subscribed when the connection drops, until the run ends).
/// </summary>
public sealed class EditorSession : IDisposable
{
    private readonly CancellationTokenSource _closed = new();
    // One start at a time: a second press waits for the first's seed step, so each run gets the next seed.
    private readonly SemaphoreSlim _starting = new(1, 1);
    // Guards Run, _queued and _following against the follower, which may run on another thread.
    private readonly Lock _gate = new();
    private readonly List<RunView> _queued = [];
    private bool _following;
    private (GraphDocument Document, int Revision, NodeCatalog Catalog)? _validatedFor;
    private ValidationResult? _validation;
    private string? _clipboard;
    private IReadOnlyDictionary<string, string>? _serverTypes;
    private string? _serverError;
    // The event stream being read from the server: cancelled when the tab stops following that run.
    private CancellationTokenSource? _stream;

    /// <summary>Opens an empty document on the engine's node types and follows its plugin reloads until disposed.</summary>
    /// <param name="engine">The engine.</param>
    /// <param name="files">The folders.</param>
    /// <param name="runs">The run backend.</param>
    /// <param name="comfyFolders">Where ComfyUI files' checkpoint and image names resolve (the ComfyUI layer's); by default the engine's models folder.</param>
    /// <param name="server">The server runs are queued on; null: <paramref name="runs"/>, in this process.</param>
    public EditorSession(FlowDiffusionEngine engine, EditorFiles files, IRunBackend runs, ComfyFolders? comfyFolders = null, RemoteServer? server = null)
    {
        Engine = engine;
        Files = files;
        Runs = runs;
        Server = server;
        ComfyFolders = comfyFolders ?? new ComfyFolders(Path.GetFullPath(engine.Options.ModelsFolder, files.WorkingFolder), files.WorkingFolder,
            Path.Combine(Path.GetFullPath(engine.Options.DataFolder, files.WorkingFolder), "comfy-input"));
        Document = GraphDocument.Empty(engine.Catalog);
        Engine.PluginsReloaded += OnPluginsReloaded;
    }

    /// <summary>Raised when something a view shows changed outside a UI event (run progress, a plugin reload); raised on any thread.</summary>
    public event Action? Changed;

    /// <summary>The engine.</summary>
    public FlowDiffusionEngine Engine { get; }

    /// <summary>The folders.</summary>
    public EditorFiles Files { get; }

    /// <summary>The run queue, history and events, shared with the HTTP API.</summary>
    public IRunBackend Runs { get; }

    /// <summary>The server runs are queued on and history comes from, or null when they run in this process.</summary>
    public RemoteServer? Server { get; }

    /// <summary>
    /// What is wrong with <see cref="Server"/> for the open graph: not answering (with the status and the server's words),
    /// or lacking node types the graph uses (<see cref="ServerCatalogCheck"/>); null when all is well or there is no server.
    /// Read again by <see cref="CheckServerAsync"/>.
    /// </summary>
    public string? ServerWarning => Server is null ? null
        : _serverError ?? (_serverTypes is { } types ? ServerCatalogCheck.Warning(Document.Workflow, Document.Catalog, types, Server.Name) : null);

    /// <summary>Asks <see cref="Server"/> for its node types (at most every 30 s) for <see cref="ServerWarning"/>; never throws for the server's failures.</summary>
    public async Task CheckServerAsync(CancellationToken cancellationToken = default)
    {
        if (Server is not { } server) return;
        try
        {
            _serverTypes = await server.NodeTypesAsync(cancellationToken);
            _serverError = null;
        }
        catch (Exception error) when (RemoteServer.IsServerError(error) && !cancellationToken.IsCancellationRequested)
        {
            _serverError = "Cannot use the server: " + server.Describe(error);
        }
    }

    /// <summary>Where ComfyUI files opened in the editor resolve their checkpoint and image names.</summary>
    public ComfyFolders ComfyFolders { get; }

    /// <summary>The open document.</summary>
    public GraphDocument Document { get; private set; }

    /// <summary>The saved workflow name the document came from or was saved as, or null.</summary>
    public string? FileName { get; private set; }

    /// <summary>Selected node ids.</summary>
    public HashSet<string> Selection { get; } = new(StringComparer.Ordinal);

    /// <summary>Problems with the current document against its node types, found again after every edit and plugin reload.</summary>
    public ValidationResult Validation
    {
        get
        {
            var current = (Document, Document.Revision, Document.Catalog);
            if (_validation is null || _validatedFor != current)
            {
                _validation = WorkflowValidator.Validate(Document.Workflow, Document.Catalog);
                _validatedFor = current;
            }
            return _validation;
        }
    }

    /// <summary>The run shown: the one executing or next to, or the last one when none is left.</summary>
    public RunView? Run { get; private set; }

    /// <summary>This tab's runs queued behind <see cref="Run"/>, in the order they will be shown.</summary>
    public IReadOnlyList<RunView> QueuedRuns
    {
        get
        {
            lock (_gate) return [.. _queued];
        }
    }

    /// <summary>A message for the status bar (save results, refused links).</summary>
    public string? Notice { get; set; }

    /// <summary>Opens a new empty workflow.</summary>
    public void New()
    {
        Open(GraphDocument.Empty(Engine.Catalog), null);
    }

    /// <summary>
    /// Switches the open document to the engine's node types when plugins were reloaded since it last looked: not an
    /// edit (no undo step, not dirty), and <see cref="Notice"/> says which node types came and went. Call on the
    /// circuit's thread, as for any other change to the session (the page does on every refresh); true when node types changed.
    /// </summary>
    public bool CatchUpWithPlugins()
    {
        var catalog = Engine.Catalog;
        if (ReferenceEquals(Document.Catalog, catalog)) return false;
        var change = CatalogChange.Between(Document.Catalog, catalog);
        Document.UseCatalog(catalog);
        if (change.IsEmpty) return false;
        Notice = change.Summary;
        return true;
    }

    /// <summary>
    /// Opens saved workflow <paramref name="name"/>; returns the read problems (empty when it opened). A model input
    /// whose default is a shipped model starts at the user's own model when the models folder holds one (as the CLI
    /// and the API pick it, <see cref="WorkflowModelDefaults"/>), so the model picker shows what will run;
    /// <see cref="ModelPicks"/> says which and why.
    /// </summary>
    public IReadOnlyList<Diagnostic> OpenSaved(string name)
    {
        var yaml = File.ReadAllText(Files.WorkflowFile(name));
        var picked = new Dictionary<string, object?>();
        var applied = WorkflowYamlReader.Read(yaml, name + ".yaml").Workflow is { } workflow
            ? WorkflowModelDefaults.Apply(workflow, picked, Engine.Options, Files.WorkingFolder)
            : [];
        var problems = OpenYaml(yaml, name, applied.Count > 0 ? System.Text.Json.JsonSerializer.Serialize(picked) : null);
        ModelPicks = applied;
        return problems;
    }

    /// <summary>The models the last <see cref="OpenSaved"/> put in place of the workflow's defaults, and why.</summary>
    public IReadOnlyList<WorkflowModelDefaults.Applied> ModelPicks { get; private set; } = [];

    /// <summary>The notice naming <see cref="ModelPicks"/>, or "" when none.</summary>
    public string ModelPickNotice => string.Join(" ", ModelPicks.Select(p => $"{p.Input}: {p.Pick.Path} ({p.Pick.Reason})."));

    /// <summary>
    /// Opens workflow YAML text, with a run's input values (JSON, as a saved PNG carries them) as the inputs' defaults;
    /// returns the read problems. The document stays when the text is no FlowDiffusion workflow (it cannot be read, or
    /// reading it found errors and no node: a ComfyUI graph, any other JSON), so nothing is lost to a wrong file.
    /// </summary>
    public IReadOnlyList<Diagnostic> OpenYaml(string yaml, string? name, string? inputsJson = null)
    {
        var read = WorkflowYamlReader.Read(yaml, name is null ? null : name + ".yaml");
        if (!IsWorkflow(read) || read.Workflow is null) return read.Diagnostics;
        var workflow = inputsJson is null ? read.Workflow : RunInputs.Apply(read.Workflow, inputsJson);
        Open(new GraphDocument(Engine.Catalog, workflow), name);
        return read.Diagnostics;
    }

    /// <summary>
    /// Opens a workflow made elsewhere (a converted ComfyUI file, see <see cref="ComfyOpen"/>) as a new document with no
    /// file name, so Save asks for one; nodes without a position are laid out.
    /// </summary>
    public void OpenConverted(Workflow workflow) => Open(new GraphDocument(Engine.Catalog, workflow), null);

    /// <summary>Whether read text is a FlowDiffusion workflow to open: it parsed, and unless it has nodes, without errors.</summary>
    public static bool IsWorkflow(WorkflowLoadResult read) => read.Workflow is not null && !(read.HasErrors && read.Workflow.Nodes.Count == 0);

    /// <summary>Saves the document as workflows/<paramref name="name"/>.yaml.</summary>
    /// <exception cref="InvalidOperationException"><paramref name="name"/> is a shipped template (<see cref="EditorFiles.IsTemplate"/>).</exception>
    public string Save(string name)
    {
        if (Files.IsTemplate(name)) throw new InvalidOperationException($"{name} is a shipped template and stays as shipped: type a new name and Save to keep your version (Save as).");
        var file = Files.WorkflowFile(name);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, Document.ToYaml());
        Document.MarkSaved();
        FileName = name;
        return file;
    }

    /// <summary>Copies the selection to this tab's clipboard.</summary>
    public void Copy()
    {
        if (Selection.Count > 0) _clipboard = Document.Copy(Selection);
    }

    /// <summary>Pastes the clipboard, selecting the new nodes.</summary>
    public void Paste()
    {
        if (_clipboard is null) return;
        Select(Document.Paste(_clipboard, 60, 60));
    }

    /// <summary>Duplicates the selection, selecting the copies.</summary>
    public void Duplicate()
    {
        if (Selection.Count > 0) Select(Document.Duplicate(Selection));
    }

    /// <summary>Deletes the selected nodes.</summary>
    public void DeleteSelection()
    {
        Document.RemoveNodes(Selection);
        Selection.Clear();
    }

    /// <summary>Replaces the selection.</summary>
    public void Select(IEnumerable<string> nodeIds)
    {
        Selection.Clear();
        Selection.UnionWith(nodeIds);
    }

    /// <summary>
    /// Re-rolls the randomized seeds, then queues the document in the server's run queue, the same queue as
    /// <c>POST /api/runs</c> (so the run is in <c>GET /api/runs</c>), asking samplers for live previews, then steps the
    /// incremented and decremented seeds for the next run (ComfyUI's "control after generate"). While a run of this tab
    /// is going the new one joins <see cref="QueuedRuns"/>; false (with <see cref="Notice"/>) when it does not validate
    /// or the queue refused it.
    /// </summary>
    public async Task<bool> StartRunAsync(CancellationToken cancellationToken = default)
    {
        await _starting.WaitAsync(cancellationToken);
        try
        {
            return await QueueRunAsync(cancellationToken);
        }
        finally
        {
            _starting.Release();
        }
    }

    /// <summary>
    /// Queues <paramref name="count"/> runs one after another, each as <see cref="StartRunAsync"/> does (so each gets
    /// its own seeds); stops at the first that cannot be queued and returns how many were.
    /// </summary>
    public async Task<int> StartRunsAsync(int count, CancellationToken cancellationToken = default)
    {
        var queued = 0;
        while (queued < count && await StartRunAsync(cancellationToken)) queued++;
        return queued;
    }

    /// <summary>Cancels the run shown, queued or executing; the next of <see cref="QueuedRuns"/> is shown when it ends.</summary>
    public async Task CancelRunAsync()
    {
        if (Run is not { Finished: false } run) return;
        if (Server is null)
        {
            await Runs.CancelAsync(run.RunId, CancellationToken.None);
            return;
        }
        if (!await CancelOnServerAsync(run.RunId))
        {
            // The server cannot be told: stop waiting for it here (the tab moves on), and say that the run may go on there.
            run.Abandon($"Not followed any more: cancelling could not reach {Server.Name}; the run may still go on there.");
            StopStream();
            Changed?.Invoke();
        }
    }

    /// <summary>Cancels one of <see cref="QueuedRuns"/> (by run id), or all of them when <paramref name="runId"/> is null.</summary>
    public async Task CancelQueuedAsync(string? runId = null)
    {
        List<RunView> cancelled;
        lock (_gate)
        {
            cancelled = _queued.Where(v => runId is null || v.RunId == runId).ToList();
            _queued.RemoveAll(cancelled.Contains);
        }
        foreach (var view in cancelled)
        {
            if (Server is null) await Runs.CancelAsync(view.RunId, CancellationToken.None);
            else await CancelOnServerAsync(view.RunId);
        }
        Changed?.Invoke();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Engine.PluginsReloaded -= OnPluginsReloaded;
        _closed.Cancel();
    }

    // On the watcher's thread: only say so; the document switches in CatchUpWithPlugins, on the circuit's thread.
    private void OnPluginsReloaded(object? sender, PluginSet plugins) => Changed?.Invoke();

    private void Open(GraphDocument document, string? name)
    {
        Document = document;
        FileName = name;
        Selection.Clear();
    }

    private async Task<bool> QueueRunAsync(CancellationToken cancellationToken)
    {
        CatchUpWithPlugins();
        if (Validation.Plan is null)
        {
            Notice = $"Cannot run: {Validation.Errors.Count()} problem(s) — see the list.";
            return false;
        }
        Document.RerollSeeds(Random.Shared);
        var queued = LivePreviews.Requested(Document.Workflow, Document.Catalog);
        string runId;
        if (Server is { } server)
        {
            var yaml = WorkflowYamlWriter.Write(queued);
            try
            {
                runId = await server.Client.SubmitYamlAsync(yaml, cancellationToken: cancellationToken);
            }
            catch (Exception error) when (RemoteServer.IsServerError(error) && !cancellationToken.IsCancellationRequested)
            {
                // Refused or unreachable: the graph stays as it is, and the status bar names the server and its answer.
                Notice = "Could not queue the run: " + server.Describe(error);
                return false;
            }
            server.Remember(runId, yaml);
        }
        else
        {
            RunRecord record;
            try
            {
                (record, _) = await Runs.SubmitAsync(new RunSubmission(WorkflowYamlWriter.Write(queued), "{}", FileName), cancellationToken);
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                // The queue's database refused it; the tab stays usable and says why.
                Notice = "Could not queue the run: " + error.Message;
                return false;
            }
            runId = record.Id;
        }
        Document.StepSeeds();
        var view = new RunView(runId, queued.Nodes.Select(n => n.Id));
        Notice = null;
        bool follow;
        lock (_gate)
        {
            follow = !_following;
            if (follow)
            {
                _following = true;
                Run = view;
            }
            else
            {
                _queued.Add(view);
            }
        }
        if (follow) _ = FollowQueueAsync(view);
        return true;
    }

    // Follows the tab's runs one after another: the shown one to its end, then the first still queued.
    private async Task FollowQueueAsync(RunView first)
    {
        for (var view = first; !_closed.IsCancellationRequested;)
        {
            await FollowAsync(view);
            if (Next() is not { } next) return;
            view = next;
            Changed?.Invoke();
        }
    }

    // The next queued run becomes the one shown; null (and nothing followed) when none is queued.
    private RunView? Next()
    {
        lock (_gate)
        {
            if (_queued.Count == 0)
            {
                _following = false;
                return null;
            }
            Run = _queued[0];
            _queued.RemoveAt(0);
            return Run;
        }
    }

    // Follows the run on the backend's event bus: pushed, its state first, then live events, ending with run_ended.
    private async Task FollowAsync(RunView view)
    {
        if (Server is { } server)
        {
            await FollowOnServerAsync(view, server);
            return;
        }
        var last = DateTime.MinValue;
        try
        {
            await foreach (var message in Runs.SubscribeAsync(view.RunId, _closed.Token))
            {
                view.Apply(message, file => Runs.Outputs.Find(view.RunId, file));
                // Progress and previews can come faster than a browser needs; ends and images always go out.
                if (message.Kind is "progress" or "preview" && DateTime.UtcNow - last < TimeSpan.FromMilliseconds(100)) continue;
                last = DateTime.UtcNow;
                Changed?.Invoke();
            }
            if (!view.Finished) Notice = "The run was deleted from the queue.";
        }
        catch (OperationCanceledException) when (_closed.IsCancellationRequested)
        {
            return;
        }
        catch (Exception error)
        {
            Notice = "Following the run failed: " + error.Message;
        }
        Changed?.Invoke();
    }

    // True when the server took the cancel, or answered that the run is already over or gone (nothing left to cancel).
    private async Task<bool> CancelOnServerAsync(string runId)
    {
        var server = Server!;
        try
        {
            await server.Client.CancelAsync(runId, CancellationToken.None);
            return true;
        }
        catch (FlowDiffusionApiException error) when (error.Status is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
        {
            return true;
        }
        catch (Exception error) when (RemoteServer.IsServerError(error))
        {
            Notice = $"Could not cancel run {runId}: " + server.Describe(error);
            return false;
        }
    }

    // Follows the run on the server's event stream. A dropped connection (the server restarted, the network went) is
    // said in the status bar and the stream subscribed again, every few seconds, until the run ends: each new
    // subscription starts with the run as it stands. A run the server no longer knows, or a refused key, ends the view.
    private async Task FollowOnServerAsync(RunView view, RemoteServer server)
    {
        var last = DateTime.MinValue;
        var wait = TimeSpan.FromSeconds(0.5);
        var lost = false;
        while (!view.Finished && !_closed.IsCancellationRequested)
        {
            using var stream = CancellationTokenSource.CreateLinkedTokenSource(_closed.Token);
            lock (_gate) _stream = stream;
            try
            {
                await foreach (var message in server.Events.SubscribeAsync(view.RunId, stream.Token))
                {
                    if (lost)
                    {
                        lost = false;
                        wait = TimeSpan.FromSeconds(0.5);
                        Notice = $"Reconnected to {server.Name}; following run {view.RunId} again.";
                    }
                    foreach (var (nodeId, output) in RunView.OutputsOf(message))
                    {
                        if (view.Images.Any(i => i.FileName == output.File) || !IsImage(output.File)) continue;
                        var bytes = await server.Client.GetOutputAsync(output, stream.Token);
                        view.AddImage(new GalleryImage(nodeId, output.File, ImageDataUrl.OfBytes(bytes, output.File)));
                    }
                    view.Apply(message);
                    // Progress and previews can come faster than a browser needs; ends and images always go out.
                    if (message.Kind is "progress" or "preview" && DateTime.UtcNow - last < TimeSpan.FromMilliseconds(100)) continue;
                    last = DateTime.UtcNow;
                    Changed?.Invoke();
                }
                if (view.Finished) break;
                throw new IOException("the server closed the event stream before the run ended");
            }
            catch (OperationCanceledException) when (_closed.IsCancellationRequested)
            {
                return;
            }
            catch (OperationCanceledException) when (stream.IsCancellationRequested)
            {
                break;
            }
            catch (FlowDiffusionApiException error) when (error.Status is HttpStatusCode.NotFound or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                view.Abandon(server.Describe(error));
                Notice = $"Stopped following run {view.RunId}: " + server.Describe(error);
            }
            catch (Exception error) when (RemoteServer.IsServerError(error))
            {
                if (view.Finished) break;
                // Said when the stream drops, and again on each retry only while the status bar still says it: a retry must
                // not replace what the user's own action was answered meanwhile (a refused Run, say).
                var prefix = $"Lost the events of run {view.RunId}: ";
                if (!lost || Notice is null || Notice.StartsWith(prefix, StringComparison.Ordinal))
                    Notice = $"{prefix}{server.Describe(error)} Trying again in {wait.TotalSeconds:0.#} s; the graph is kept.";
                lost = true;
            }
            finally
            {
                lock (_gate) _stream = null;
            }
            Changed?.Invoke();
            if (view.Finished) break;
            try
            {
                await Task.Delay(wait, _closed.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            wait = TimeSpan.FromSeconds(Math.Min(wait.TotalSeconds * 2, 5));
        }
        Changed?.Invoke();
    }

    private void StopStream()
    {
        lock (_gate)
        {
            try
            {
                _stream?.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // That stream has just ended.
            }
        }
    }

    private static bool IsImage(string file) =>
        file.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase);
}
