using System.Text.Json.Nodes;

namespace FlowDiffusion.Server.Tests.OpenApi;

/// <summary>
/// FlowDiffusion.Client's generated code is what <see cref="ClientGenerator"/> makes of the server's current OpenAPI
/// document: the test fails when they differ, and <c>FLOWDIFFUSION_UPDATE_DOCS=1 dotnet test tests/FlowDiffusion.Server.Tests
/// --filter GeneratedClient</c> rewrites the files.
/// </summary>
public sealed class GeneratedClientTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string Folder => Path.Combine(RepositoryRoot.Path, "engine", "FlowDiffusion.Client", "Generated");

    [Fact]
    public async Task GeneratedClient_is_what_the_generator_makes_of_the_current_OpenAPI_document()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var document = JsonNode.Parse(await host.Client.GetStringAsync("/openapi/v1.json"))!;

        var expected = new ClientGenerator(document).Generate();

        var written = Directory.Exists(Folder)
            ? Directory.EnumerateFiles(Folder, "*.g.cs").ToDictionary(f => Path.GetFileName(f)!, f => File.ReadAllText(f).ReplaceLineEndings("\n"), StringComparer.Ordinal)
            : [];
        var differing = expected.Where(e => !written.TryGetValue(e.Key, out var text) || text != e.Value).Select(e => e.Key)
            .Concat(written.Keys.Except(expected.Keys)).ToList();
        if (differing.Count > 0 && Environment.GetEnvironmentVariable("FLOWDIFFUSION_UPDATE_DOCS") == "1")
        {
            Directory.CreateDirectory(Folder);
            foreach (var stale in written.Keys.Except(expected.Keys)) File.Delete(Path.Combine(Folder, stale));
            foreach (var (name, text) in expected) File.WriteAllText(Path.Combine(Folder, name), text);
            return;
        }
        Assert.True(differing.Count == 0,
            $"engine/FlowDiffusion.Client/Generated differs from the OpenAPI document in {string.Join(", ", differing)}; run FLOWDIFFUSION_UPDATE_DOCS=1 dotnet test tests/FlowDiffusion.Server.Tests --filter GeneratedClient");
    }

    [Fact]
    public async Task The_generator_makes_a_method_per_operation_and_a_record_per_object_schema_with_the_documents_types()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var document = JsonNode.Parse(await host.Client.GetStringAsync("/openapi/v1.json"))!;

        var files = new ClientGenerator(document).Generate();
        var models = files["Models.g.cs"];
        var client = files["FlowDiffusionApiClient.g.cs"];

        var operations = document["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject()).Count(o => o.Value!["operationId"] is not null);
        Assert.Equal(15, operations);
        Assert.Equal(operations, client.Split("    public async Task").Length - 1);
        Assert.Contains("public async Task<Run> GetRunAsync(string id, CancellationToken cancellationToken = default)", client);
        Assert.Contains("public async Task<RunTicket> SubmitRunAsync(RunRequest body, string? idempotencyKey = null, CancellationToken cancellationToken = default)", client);
        Assert.Contains("public async Task<RunPage> ListRunsAsync(string? status = null, int? offset = null, int? limit = null, CancellationToken cancellationToken = default)", client);
        Assert.Contains("public async Task DeleteRunAsync(string id, CancellationToken cancellationToken = default)", client);
        Assert.Contains("public async Task<byte[]> GetOutputAsync(string runId, string file, CancellationToken cancellationToken = default)", client);
        Assert.Contains("public async Task<HttpResponseMessage> StreamRunEventsAsync(string id, CancellationToken cancellationToken = default)", client);
        // Required non-null, required nullable, optional, enum text, date-time, int64, free object.
        Assert.Contains("    public required string Id { get; init; }", models);
        Assert.Contains("    public required string? Error { get; init; }", models);
        Assert.Contains("    public required DateTimeOffset? Started { get; init; }", models);
        Assert.Contains("    public required long Bytes { get; init; }", models);
        Assert.Contains("    public JsonElement? Inputs { get; init; }", models);
        Assert.Contains("    public int? Priority { get; init; }", models);
        Assert.Contains("One of: queued, running, completed, failed, cancelled, interrupted.", models);
        Assert.DoesNotContain("record UploadForm", models);
    }
}
