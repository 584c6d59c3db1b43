using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Backend;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Workflows;
using Microsoft.Extensions.Logging;

namespace FlowDiffusion.Comfy.Api;

/// <summary>
/// The prompts queued through the ComfyUI layer: submits each converted workflow to the backend, then follows its run
/// and speaks ComfyUI's socket protocol about it — status, execution_start, execution_cached, executing, progress,
/// previews, executed, then execution_success / execution_error / execution_interrupted, then executing with node null.
/// </summary>
public sealed class ComfyPrompts(IComfyBackend backend, ComfySockets sockets, ComfyHistory history, ILogger<ComfyPrompts> logger)
{
    /// <summary>How many finished prompts history keeps (ComfyUI's own limit); the oldest are forgotten first.</summary>
    public const int MaxHistory = 10000;

    private readonly ConcurrentDictionary<string, ComfyPrompt> prompts = new(StringComparer.Ordinal);
    private long nextNumber;

    /// <summary>The backend the prompts run on.</summary>
    public IComfyBackend Backend => backend;

    /// <summary>Every prompt this layer knows, oldest first.</summary>
    public IReadOnlyList<ComfyPrompt> All => prompts.Values.OrderBy(p => p.Number).ToList();

    /// <summary>One prompt, or null.</summary>
    public ComfyPrompt? Get(string id) => prompts.GetValueOrDefault(id);

    /// <summary>Forgets a prompt's history entry, in memory and on disk.</summary>
    public bool Forget(string id)
    {
        var known = prompts.TryRemove(id, out _);
        return history.Forget(id, known) || known;
    }

    /// <summary>
    /// ComfyUI's history, oldest first: the finished prompts of this process and those stored by earlier ones, at most
    /// <paramref name="maxItems"/> (the newest) when given.
    /// </summary>
    public async Task<JsonObject> HistoryAsync(int? maxItems, CancellationToken cancellationToken)
    {
        await LoadHistoryAsync(cancellationToken);
        var live = prompts.Values.Where(p => p.Finished).Select(p => (p.Id, p.Number, Entry: (Func<JsonObject>)p.HistoryEntry));
        var old = history.Stored.Where(s => !prompts.ContainsKey(s.Key)).Select(s => (Id: s.Key, s.Value.Number, Entry: (Func<JsonObject>)(() => (JsonObject)s.Value.Entry.DeepClone())));
        var all = live.Concat(old).OrderBy(e => e.Number).ToList();
        if (maxItems is > 0) all = all.TakeLast(maxItems.Value).ToList();
        var result = new JsonObject();
        foreach (var (id, _, entry) in all) result[id] = entry();
        return result;
    }

    /// <summary>One prompt's history entry (<c>{ id: entry }</c>), or an empty object while it runs or when unknown.</summary>
    public async Task<JsonObject> HistoryOfAsync(string id, CancellationToken cancellationToken)
    {
        if (prompts.GetValueOrDefault(id) is { } prompt) return prompt.Finished ? new JsonObject { [id] = prompt.HistoryEntry() } : [];
        await LoadHistoryAsync(cancellationToken);
        return history.Stored.TryGetValue(id, out var stored) ? new JsonObject { [id] = stored.Entry.DeepClone() } : [];
    }

    /// <summary>The ids of every finished prompt in history (this process's and stored ones).</summary>
    public async Task<IReadOnlyList<string>> FinishedIdsAsync(CancellationToken cancellationToken)
    {
        await LoadHistoryAsync(cancellationToken);
        return prompts.Values.Where(p => p.Finished).Select(p => p.Id).Concat(history.Stored.Keys).Distinct().ToList();
    }

    // Reads the stored history once; queue numbers continue after the highest stored one.
    private async Task LoadHistoryAsync(CancellationToken cancellationToken)
    {
        var last = await history.LoadAsync(MaxHistory, cancellationToken);
        long current;
        while ((current = Interlocked.Read(ref nextNumber)) <= last && Interlocked.CompareExchange(ref nextNumber, last + 1, current) != current)
        {
        }
    }

    /// <summary>Queues a converted prompt; returns it (its id is the run's), or throws <see cref="ComfyBackendException"/>.</summary>
    public async Task<ComfyPrompt> QueueAsync(JsonObject prompt, PromptConversion conversion, string? clientId, JsonNode? extraData, CancellationToken cancellationToken)
    {
        var yaml = WorkflowYamlWriter.Write(conversion.Workflow!);
        await LoadHistoryAsync(cancellationToken);
        var id = await backend.SubmitAsync(yaml, cancellationToken);
        var queued = new ComfyPrompt(id, Interlocked.Increment(ref nextNumber) - 1, clientId, prompt, extraData, conversion);
        prompts[id] = queued;
        await BroadcastStatusAsync();
        _ = Task.Run(() => FollowAsync(queued));
        return queued;
    }

    /// <summary>Cancels the running runs (ComfyUI's and A1111's interrupt), or only <paramref name="only"/> when given.</summary>
    public async Task InterruptAsync(string? only, CancellationToken cancellationToken)
    {
        foreach (var run in await backend.ListAsync(["running"], 10000, cancellationToken))
        {
            if (only is null || run.Id == only) await backend.CancelAsync(run.Id, cancellationToken);
        }
    }

    /// <summary>How many runs are queued or running.</summary>
    public async Task<int> QueueRemainingAsync(CancellationToken cancellationToken) =>
        (await backend.ListAsync(["queued", "running"], 10000, cancellationToken)).Count;

    /// <summary>ComfyUI's status data: <c>{ status: { exec_info: { queue_remaining } } }</c>.</summary>
    public async Task<JsonObject> StatusAsync(CancellationToken cancellationToken) =>
        new() { ["status"] = new JsonObject { ["exec_info"] = new JsonObject { ["queue_remaining"] = await QueueRemainingAsync(cancellationToken) } } };

    private async Task BroadcastStatusAsync() => await sockets.SendAsync("status", await StatusAsync(CancellationToken.None), null);

    private async Task FollowAsync(ComfyPrompt prompt)
    {
        try
        {
            await TranslateAsync(prompt);
        }
        catch (Exception e)
        {
            logger.LogError(e, "ComfyUI layer: following prompt {Id} failed", prompt.Id);
            if (!prompt.Finished)
            {
                prompt.Finish(false);
                history.Save(prompt);
            }
        }
    }

    private async Task TranslateAsync(ComfyPrompt prompt)
    {
        var sid = prompt.ClientId;
        var conversion = prompt.Conversion;
        var started = false;
        var cached = new List<string>();
        var executed = new List<string>();
        string? executing = null;
        string? lastAnnounced = null;
        var announced = new HashSet<string>(StringComparer.Ordinal);
        RunEvent? final = null;

        async Task StartAsync()
        {
            if (started) return;
            started = true;
            await SendAsync(prompt, "execution_start", new JsonObject { ["prompt_id"] = prompt.Id, ["timestamp"] = Now() }, record: true);
        }

        async Task FlushCachedAsync()
        {
            if (cached is null) return;
            var nodes = cached.Distinct().ToList();
            cached = null!;
            await SendAsync(prompt, "execution_cached", new JsonObject
            {
                ["nodes"] = new JsonArray(nodes.Select(n => (JsonNode)JsonValue.Create(n)).ToArray()),
                ["prompt_id"] = prompt.Id,
                ["timestamp"] = Now(),
            }, record: true);
            executed.AddRange(nodes);
        }

        async Task AnnounceAsync(string id)
        {
            lastAnnounced = id;
            await SendAsync(prompt, "executing", new JsonObject { ["node"] = id, ["display_node"] = id, ["prompt_id"] = prompt.Id });
        }

        // Clients give a binary frame to the node of the latest executing message, as ComfyUI runs one node at a time; our
        // branches run side by side, so a node announced before another one started is announced again before its frames.
        async Task FramesOfAsync(string id)
        {
            if (lastAnnounced != id) await AnnounceAsync(id);
        }

        await foreach (var item in backend.WatchAsync(prompt.Id, CancellationToken.None))
        {
            switch (item)
            {
                case RunStarted:
                    await StartAsync();
                    break;
                case NodeCached e when ComfyId(conversion, e.NodeId) is { } id:
                    if (cached is not null && e.NodeId == ApiPromptConverter.NodeId(id)) cached.Add(id);
                    break;
                case NodeStarted e when ComfyId(conversion, e.NodeId) is { } id:
                    await StartAsync();
                    await FlushCachedAsync();
                    executing = id;
                    // A ComfyUI node may stand for several of ours (tokenize + encode); it is announced once, when the first starts.
                    if (announced.Add(id)) await AnnounceAsync(id);
                    break;
                case NodeProgressed { Progress: { Step: { } step and > 0, TotalSteps: { } total and > 0 } } e when ComfyId(conversion, e.NodeId) is { } id:
                    // SaveImageWebsocket's progress precedes each image with the image's 0-based index, as ComfyUI's does.
                    prompt.Progress = new ComfyProgress(id, step, total);
                    var sending = IsSendingImages(conversion, id);
                    if (sending) await FramesOfAsync(id);
                    await SendAsync(prompt, "progress", new JsonObject { ["value"] = sending ? step - 1 : step, ["max"] = total, ["prompt_id"] = prompt.Id, ["node"] = id });
                    break;
                case NodePreviewed e:
                    if (ComfyId(conversion, e.NodeId) is { } previewing) await FramesOfAsync(previewing);
                    await sockets.SendPreviewAsync(PreviewPng.Encode(e.Preview), sid);
                    break;
                case OutputWritten e when ComfyId(conversion, e.NodeId) is { } id && ListOf(e.Path) is { } list:
                    AddFile(prompt, id, list, e.Path);
                    break;
                case NodeFinished e when ComfyId(conversion, e.NodeId) is { } id && e.NodeId == ApiPromptConverter.NodeId(id):
                    executed.Add(id);
                    if (conversion.OutputTypes.ContainsKey(id))
                    {
                        await SendAsync(prompt, "executed", new JsonObject
                        {
                            ["node"] = id,
                            ["display_node"] = id,
                            ["output"] = prompt.OutputOf(id),
                            ["prompt_id"] = prompt.Id,
                        });
                    }

                    break;
                case RunFinished or RunFailed or RunCancelled:
                    final = item;
                    break;
            }
        }

        await StartAsync();
        if (cached is not null) await FlushCachedAsync();
        if (final is null)
        {
            // The run ended before it could be watched: its record says how.
            var run = await backend.GetAsync(prompt.Id, CancellationToken.None);
            final = run?.Status switch
            {
                "completed" => new RunFinished(prompt.Id, DateTimeOffset.UtcNow, TimeSpan.Zero, []),
                "cancelled" => new RunCancelled(prompt.Id, DateTimeOffset.UtcNow),
                _ => new RunFailed(prompt.Id, DateTimeOffset.UtcNow, run?.Error ?? "the run is gone", FailedNodeOf(run?.Error)),
            };
            if (run is { Status: "completed" }) RecoverOutputs(prompt, run);
        }

        var executedJson = new JsonArray(executed.Distinct().Select(n => (JsonNode)JsonValue.Create(n)).ToArray());
        switch (final)
        {
            case RunFinished:
                // PreviewAny's text was settled at conversion: its UI output once the run has succeeded, as ComfyUI's ui.text.
                foreach (var (id, text) in conversion.TextOutputs)
                {
                    prompt.AddOutput(id, "text", JsonValue.Create(text));
                    await AnnounceAsync(id);
                    await SendAsync(prompt, "executed", new JsonObject { ["node"] = id, ["display_node"] = id, ["output"] = prompt.OutputOf(id), ["prompt_id"] = prompt.Id });
                }

                await FinishAsync(prompt, true, "execution_success", new JsonObject { ["prompt_id"] = prompt.Id, ["timestamp"] = Now() });
                break;
            case RunCancelled:
                await FinishAsync(prompt, false, "execution_interrupted", new JsonObject
                {
                    ["prompt_id"] = prompt.Id,
                    ["node_id"] = executing,
                    ["node_type"] = executing is null ? null : conversion.ClassTypes.GetValueOrDefault(executing),
                    ["executed"] = executedJson,
                    ["timestamp"] = Now(),
                });
                break;
            case RunFailed failed:
                var node = failed.NodeId is null ? executing : ComfyId(conversion, failed.NodeId) ?? executing;
                await FinishAsync(prompt, false, "execution_error", new JsonObject
                {
                    ["prompt_id"] = prompt.Id,
                    ["node_id"] = node,
                    ["node_type"] = node is null ? null : conversion.ClassTypes.GetValueOrDefault(node),
                    ["executed"] = executedJson,
                    ["exception_message"] = failed.Error,
                    ["exception_type"] = "FlowDiffusion.RunFailed",
                    ["traceback"] = new JsonArray(),
                    ["current_inputs"] = new JsonObject(),
                    ["current_outputs"] = new JsonObject(),
                    ["timestamp"] = Now(),
                });
                break;
        }

        history.Save(prompt);
        await SendAsync(prompt, "executing", new JsonObject { ["node"] = null, ["display_node"] = null, ["prompt_id"] = prompt.Id });
        await BroadcastStatusAsync();
        TrimHistory();
    }

    private void TrimHistory()
    {
        var finished = prompts.Values.Where(p => p.Finished).OrderBy(p => p.Number).ToList();
        foreach (var old in finished.Take(finished.Count - MaxHistory)) prompts.TryRemove(old.Id, out _);
    }

    private void RecoverOutputs(ComfyPrompt prompt, ComfyRunInfo run)
    {
        var saves = prompt.Conversion.Workflow?.Nodes.Where(n => n.Type is "image.save" or "image.save_animated" or "latent.save").ToList() ?? [];
        foreach (var file in run.Outputs)
        {
            var name = Path.GetFileName(file);
            var save = saves.FirstOrDefault(s => s.Parameter("prefix")?.Value is LiteralValue { Value: string p } && name.StartsWith(p + "_", StringComparison.Ordinal)
                && (s.Type == "latent.save") == (ListOf(name) == "latents"));
            if (save is not null && ComfyId(prompt.Conversion, save.Id) is { } id && ListOf(file) is { } list) AddFile(prompt, id, list, Path.Combine(backend.RunFolder(run.Id), file));
        }
    }

    // A file in the node's UI output; SaveAnimatedWEBP's and SaveAnimatedPNG's also mark it animated: [true], as ComfyUI's.
    private void AddFile(ComfyPrompt prompt, string comfyId, string list, string path)
    {
        prompt.AddOutput(comfyId, list, FileEntry(prompt, comfyId, path));
        if (ApiPromptConverter.AnimatedClasses.Contains(prompt.Conversion.ClassTypes.GetValueOrDefault(comfyId) ?? ""))
            prompt.AddOutput(comfyId, "animated", JsonValue.Create(true));
    }

    // A run that failed before it could be watched (its first node, at once) has only its record's message, which the
    // engine starts with "node 'id' (type, …) failed:": the node is read from it, so execution_error still names it.
    private static string? FailedNodeOf(string? error) =>
        error is not null && error.StartsWith("node '", StringComparison.Ordinal) && error.IndexOf("' (", 6, StringComparison.Ordinal) is > 6 and var end
            ? error[6..end]
            : null;

    // SaveLatent's files are listed under "latents", as ComfyUI's SaveLatent reports them; CheckpointSave's checkpoints
    // under none, as ComfyUI's returns no UI output; everything else is an image.
    private static string? ListOf(string path) =>
        path.EndsWith(".latent", StringComparison.Ordinal) ? "latents" : path.EndsWith(".safetensors", StringComparison.Ordinal) ? null : "images";

    private JsonObject FileEntry(ComfyPrompt prompt, string comfyId, string path)
    {
        var relative = Path.GetRelativePath(backend.OutputFolder, Path.GetFullPath(path)).Replace('\\', '/');
        var slash = relative.LastIndexOf('/');
        return new JsonObject
        {
            ["filename"] = slash < 0 ? relative : relative[(slash + 1)..],
            ["subfolder"] = slash < 0 ? "" : relative[..slash],
            ["type"] = prompt.Conversion.OutputTypes.GetValueOrDefault(comfyId, "output"),
        };
    }

    private async Task SendAsync(ComfyPrompt prompt, string type, JsonObject data, bool record = false)
    {
        if (record) prompt.Record(type, data);
        await sockets.SendAsync(type, data, prompt.ClientId);
    }

    // The final message is recorded and the prompt marked finished together (a client polling /history saw a failed
    // prompt without its execution_error when they were two steps), then sent.
    private async Task FinishAsync(ComfyPrompt prompt, bool success, string type, JsonObject data)
    {
        prompt.Finish(success, type, data);
        await sockets.SendAsync(type, data, prompt.ClientId);
    }

    private static string? ComfyId(PromptConversion conversion, string nodeId) => conversion.ComfyIdOf.GetValueOrDefault(nodeId);

    private static bool IsSendingImages(PromptConversion conversion, string comfyId) =>
        conversion.ClassTypes.GetValueOrDefault(comfyId) == ApiPromptConverter.SaveImageWebsocketClass;

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}
