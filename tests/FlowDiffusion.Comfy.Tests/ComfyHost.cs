using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;
using FlowDiffusion.Comfy.Api;
using FlowDiffusion.Server;
using Microsoft.AspNetCore.Builder;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>The real server with the ComfyUI layer on a free loopback port, running the checkout's SD pack and models.</summary>
internal sealed class ComfyHost : IAsyncDisposable
{
    private readonly WebApplication app;

    private ComfyHost(WebApplication app, string root)
    {
        this.app = app;
        Root = root;
        Address = new Uri(app.Urls.Single());
        Client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public Uri Address { get; }

    public HttpClient Client { get; }

    public string Root { get; }

    /// <summary>Whether disposing keeps <see cref="Root"/> (for a second server on the same store).</summary>
    public bool KeepRoot { get; init; }

    /// <summary>
    /// Starts a server in a fresh temporary folder, or on <paramref name="root"/> (its store, outputs and data);
    /// <paramref name="settings"/> add to or replace the defaults (another working or models folder, say).
    /// </summary>
    public static async Task<ComfyHost> StartAsync(string? root = null, bool keepRoot = false, IReadOnlyDictionary<string, string?>? settings = null)
    {
        root ??= Path.Combine(Path.GetTempPath(), "fd-comfy-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var configuration = new Dictionary<string, string?>
        {
            ["FlowDiffusion:Server:WorkingFolder"] = RepositoryRoot.Path,
            ["FlowDiffusion:PluginFolders:0"] = "plugins",
            ["FlowDiffusion:WorkflowsFolder"] = Path.Combine(root, "workflows"),
            ["FlowDiffusion:OutputFolder"] = Path.Combine(root, "outputs"),
            ["FlowDiffusion:DataFolder"] = Path.Combine(root, "data"),
            ["FlowDiffusion:WatchPlugins"] = "false",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) configuration[key] = value;
        var app = ServerHost.Create(["http://127.0.0.1:0"], configuration, configureServices: s => s.AddComfyCompatibility());
        app.MapComfyApi();
        app.MapA1111Api();
        await app.StartAsync();
        return new ComfyHost(app, root) { KeepRoot = keepRoot };
    }

    /// <summary>Posts a prompt (with the client's <c>extra_data</c>, if any); returns the status code and the JSON answer.</summary>
    public async Task<(int Status, JsonNode Body)> PostPromptAsync(JsonObject prompt, string? clientId = null, JsonObject? extraData = null)
    {
        var body = new JsonObject { ["prompt"] = prompt.DeepClone() };
        if (clientId is not null) body["client_id"] = clientId;
        if (extraData is not null) body["extra_data"] = extraData.DeepClone();
        using var response = await Client.PostAsJsonAsync("/prompt", body);
        return ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    /// <summary>Polls /history/{id} until the prompt has finished; returns its entry.</summary>
    public async Task<JsonNode> HistoryAsync(string id, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var history = JsonNode.Parse(await Client.GetStringAsync($"/history/{id}"))!;
            if (history[id] is { } entry) return entry;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"prompt {id} did not finish");
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
        if (KeepRoot) return;
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
