using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Server.Tests.Security;

/// <summary>Hostile workflow documents and request bodies: each a 400 with a clear message, never a crash or a 500.</summary>
public sealed class WorkflowDocumentApiTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string DeepYaml(int depth) => "flowdiffusion: 1\nnodes:\n  a: { node: test.number, with: { value: " + new string('[', depth) + " } }\n";

    [Fact]
    public async Task Deeply_nested_yaml_run_is_a_400_naming_the_depth_limit_and_the_server_lives_on()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        using var response = await host.Client.PostAsync("/api/runs", Json(new JsonObject { ["yaml"] = DeepYaml(80_000) }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("more than 64 levels", await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/api/health")).StatusCode);
    }

    [Fact]
    public async Task Deeply_nested_yaml_is_not_saved()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        using var response = await host.Client.PutAsync("/api/workflows/deep", new StringContent(DeepYaml(20_000), Encoding.UTF8, "application/yaml"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("more than 64 levels", await response.Content.ReadAsStringAsync());
        Assert.False(File.Exists(Path.Combine(host.Workflows, "deep.yaml")));
    }

    [Fact]
    public async Task Deeply_nested_json_body_is_a_400()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var body = "{\"yaml\":\"x\",\"inputs\":{\"a\":" + new string('[', 10_000) + new string(']', 10_000) + "}}";

        using var response = await host.Client.PostAsync("/api/runs", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Invalid_utf8_json_body_is_a_400()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var body = new ByteArrayContent([.. "{\"yaml\":\""u8, 0xC3, 0x28, .. "\"}"u8]);
        body.Headers.ContentType = new("application/json");

        using var response = await host.Client.PostAsync("/api/runs", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Invalid_utf8_workflow_is_refused_and_not_saved()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        // A comment in Latin-1: 0xFF is never valid in UTF-8.
        var body = new ByteArrayContent([.. Encoding.UTF8.GetBytes(Workflows.Sum), (byte)'#', (byte)' ', 0xFF, (byte)'\n']);
        body.Headers.ContentType = new("application/yaml");

        using var response = await host.Client.PutAsync("/api/workflows/latin", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("not valid UTF-8", await response.Content.ReadAsStringAsync());
        Assert.False(File.Exists(Path.Combine(host.Workflows, "latin.yaml")));
    }

    [Theory]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    [InlineData("1e999")]
    public async Task Non_finite_numbers_are_refused(string value)
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        using var response = await host.Client.PostAsync("/api/runs", Json(new JsonObject { ["yaml"] = Workflows.Sum, ["inputs"] = new JsonObject { ["a"] = value } }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("not a finite number", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Invalid_workflow_is_saved_only_as_an_explicit_draft()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var invalid = Workflows.Sum.Replace("test.add", "test.nonexistent", StringComparison.Ordinal);

        using var refused = await host.Client.PutAsync("/api/workflows/half", new StringContent(invalid, Encoding.UTF8, "application/yaml"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("test.nonexistent", await refused.Content.ReadAsStringAsync());
        Assert.False(File.Exists(Path.Combine(host.Workflows, "half.yaml")));

        using var draft = await host.Client.PutAsync("/api/workflows/half?draft=true", new StringContent(invalid, Encoding.UTF8, "application/yaml"));
        Assert.Equal(HttpStatusCode.OK, draft.StatusCode);
        Assert.False(JsonNode.Parse(await draft.Content.ReadAsStringAsync())!["valid"]!.GetValue<bool>());
        Assert.Equal(invalid, File.ReadAllText(Path.Combine(host.Workflows, "half.yaml")));
    }

    [Fact]
    public async Task Concurrent_saves_of_one_name_all_succeed_and_leave_one_whole_file()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var versions = Enumerable.Range(0, 24).Select(i => Workflows.Sum.Replace("default: 2", $"default: {i}", StringComparison.Ordinal)).ToList();

        var responses = await Task.WhenAll(versions.Select(v => host.Client.PutAsync("/api/workflows/race", new StringContent(v, Encoding.UTF8, "application/yaml"))));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Contains(File.ReadAllText(Path.Combine(host.Workflows, "race.yaml")), versions);
        Assert.Single(Directory.GetFiles(host.Workflows));
    }

    [Fact]
    public async Task Saved_workflow_that_links_out_of_the_folder_is_not_served()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        Directory.CreateDirectory(host.Workflows);
        var secret = Path.Combine(_folder.Path, "secret.yaml");
        File.WriteAllText(secret, "TOP-SECRET");
        File.CreateSymbolicLink(Path.Combine(host.Workflows, "leak.yaml"), secret);

        using var response = await host.Client.GetAsync("/api/workflows/leak");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("TOP-SECRET", await response.Content.ReadAsStringAsync());
    }

    private static StringContent Json(JsonObject body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");
}
