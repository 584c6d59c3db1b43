using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Backend;
using Microsoft.Extensions.Logging;

namespace FlowDiffusion.Comfy.Api;

/// <summary>
/// ComfyUI's history as it survives a restart: each finished prompt's entry (prompt, outputs, status, meta) is written
/// beside its outputs, in its run's folder (<see cref="FileName"/>), so the run store's record of the run and its
/// history entry live and are deleted together. A new process reads the entries of the store's finished runs back on
/// first use; runs queued through our own API have no entry and are not listed.
/// </summary>
public sealed class ComfyHistory(IComfyBackend backend, ILogger<ComfyHistory> logger)
{
    /// <summary>The entry's file in a run folder.</summary>
    public const string FileName = "comfyui-history.json";

    private static readonly string[] FinalStates = ["completed", "failed", "cancelled", "interrupted"];
    private readonly ConcurrentDictionary<string, (long Number, JsonObject Entry)> stored = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim loading = new(1, 1);
    private volatile bool loaded;

    /// <summary>The entries read back from earlier processes, by prompt id, with their queue numbers.</summary>
    public IReadOnlyDictionary<string, (long Number, JsonObject Entry)> Stored => stored;

    /// <summary>Reads the stored entries once (later calls return at once); returns the highest queue number seen, or −1.</summary>
    /// <param name="limit">The most finished runs to look at (newest kept).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<long> LoadAsync(int limit, CancellationToken cancellationToken)
    {
        if (loaded) return MaxNumber();
        await loading.WaitAsync(cancellationToken);
        try
        {
            if (loaded) return MaxNumber();
            var runs = await backend.ListAsync(FinalStates, limit, cancellationToken);
            foreach (var run in runs)
            {
                var path = Path.Combine(backend.RunFolder(run.Id), FileName);
                if (!File.Exists(path)) continue;
                try
                {
                    if (JsonNode.Parse(await File.ReadAllTextAsync(path, cancellationToken)) is JsonObject { } file
                        && file["entry"] is JsonObject entry && file["number"] is JsonValue number && number.TryGetValue<long>(out var n))
                        stored.TryAdd(run.Id, (n, (JsonObject)entry.DeepClone()));
                }
                catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
                {
                    logger.LogWarning("ComfyUI history: {Path} cannot be read ({Message}); prompt {Id} is left out", path, e.Message, run.Id);
                }
            }

            loaded = true;
            return MaxNumber();
        }
        finally
        {
            loading.Release();
        }
    }

    /// <summary>Writes a finished prompt's entry into its run folder (a temporary file renamed over the old one).</summary>
    /// <param name="prompt">The finished prompt.</param>
    public void Save(ComfyPrompt prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var folder = backend.RunFolder(prompt.Id);
        var path = Path.Combine(folder, FileName);
        var temporary = path + ".tmp";
        try
        {
            Directory.CreateDirectory(folder);
            var json = new JsonObject { ["number"] = prompt.Number, ["entry"] = prompt.HistoryEntry() };
            File.WriteAllText(temporary, json.ToJsonString());
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("ComfyUI history: {Path} cannot be written ({Message}); prompt {Id} is kept in memory only", path, e.Message, prompt.Id);
        }
    }

    /// <summary>Forgets a prompt's stored entry (ComfyUI's history delete/clear); the run and its images stay.</summary>
    /// <param name="id">The prompt id.</param>
    /// <param name="known">Whether the caller knows the id as a prompt of this layer; only then is a file touched.</param>
    public bool Forget(string id, bool known)
    {
        var removed = stored.TryRemove(id, out _);
        if (!(known || removed) || id.Length == 0 || !id.All(char.IsAsciiLetterOrDigit)) return removed;
        var path = Path.Combine(backend.RunFolder(id), FileName);
        try
        {
            if (File.Exists(path))
            {
                File.Delete(path);
                removed = true;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("ComfyUI history: {Path} cannot be deleted ({Message})", path, e.Message);
        }

        return removed;
    }

    private long MaxNumber() => stored.IsEmpty ? -1 : stored.Values.Max(v => v.Number);
}
