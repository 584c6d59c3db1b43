using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Server.Tests;

public sealed class SecurityTests : IDisposable
{
    private const string Secret = "TOP-SECRET-CONTENT";

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    public static TheoryData<string> TraversalPaths => new()
    {
        "../runs.db",
        "..%2F..%2Fdata%2Fruns.db",
        "%2e%2e/%2e%2e/data/runs.db",
        "..%5C..%5Cdata%5Cruns.db",
        "sub/../../secret.txt",
        "%2Fetc%2Fpasswd",
        "./../secret.txt",
        "/work/secret.txt",
        "%252e%252e/secret.txt",
        "escape/secret.txt",
        "escape-file.txt",
    };

    [Theory]
    [MemberData(nameof(TraversalPaths))]
    public async Task Output_paths_that_leave_the_run_folder_are_refused(string path)
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var id = await host.SubmitAsync(new { yaml = Workflows.Sum });
        await host.WaitAsync(id);
        var runFolder = Path.Combine(host.Outputs, id);
        var outside = Path.Combine(_folder.Path, "outside");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "secret.txt"), Secret);
        File.WriteAllText(Path.Combine(host.Outputs, "secret.txt"), Secret);
        Directory.CreateSymbolicLink(Path.Combine(runFolder, "escape"), outside);
        File.CreateSymbolicLink(Path.Combine(runFolder, "escape-file.txt"), Path.Combine(outside, "secret.txt"));

        var (status, response) = await RawHttp.GetAsync(host.Client.BaseAddress!, $"/api/outputs/{id}/{path}");

        Assert.True(status is 404 or 400, $"{path}: {status}");
        Assert.DoesNotContain(Secret, response);
        Assert.DoesNotContain("SQLite format", response);
        Assert.Equal("5", await host.Client.GetStringAsync($"/api/outputs/{id}/value-sink.txt"));
    }

    [Theory]
    [InlineData("..%2Fdata%2Fruns")]
    [InlineData("%2E%2E")]
    [InlineData(".hidden")]
    [InlineData("a%5Cb")]
    [InlineData("name%00")]
    public async Task Workflow_names_that_are_not_plain_file_stems_are_refused(string name)
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        using var put = await host.Client.PutAsync($"/api/workflows/{name}", new StringContent(Workflows.Sum, Encoding.UTF8, "application/yaml"));
        using var get = await host.Client.GetAsync($"/api/workflows/{name}");

        Assert.True(put.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, put.StatusCode.ToString());
        Assert.True(get.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, get.StatusCode.ToString());
        Assert.Empty(Directory.EnumerateFiles(_folder.Path, "*.yaml", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Api_key_when_configured_is_required_except_for_health()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path, ("FlowDiffusion:Server:ApiKey", "s3cret"));

        using (var response = await host.Client.GetAsync("/api/nodes"))
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using (var wrong = new HttpRequestMessage(HttpMethod.Get, "/api/nodes"))
        {
            wrong.Headers.Add("X-Api-Key", "s3cres");
            using var response = await host.Client.SendAsync(wrong);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        using (var right = new HttpRequestMessage(HttpMethod.Get, "/api/nodes"))
        {
            right.Headers.Add("X-Api-Key", "s3cret");
            using var response = await host.Client.SendAsync(right);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        using (var response = await host.Client.GetAsync("/api/health"))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8188", true)]
    [InlineData("http://localhost:8188", true)]
    [InlineData("http://[::1]:8188", true)]
    [InlineData("http://0.0.0.0:8188", false)]
    [InlineData("http://*:8188", false)]
    [InlineData("http://+:8188", false)]
    [InlineData("http://192.168.1.20:8188", false)]
    public void Binding_beyond_loopback_needs_an_api_key_or_the_waiver(string url, bool loopback)
    {
        Assert.Equal(loopback, ServerHost.BindingError([url], apiKey: null, allowWithoutApiKey: false) is null);
        Assert.Null(ServerHost.BindingError([url], apiKey: "key", allowWithoutApiKey: false));
        Assert.Null(ServerHost.BindingError([url], apiKey: null, allowWithoutApiKey: true));
    }

    [Fact]
    public async Task Oversized_request_body_is_refused()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path, ("FlowDiffusion:Server:MaxRequestBytes", "4096"));
        var padding = new string('#', 8192);

        using var response = await host.Client.PostAsJsonAsync("/api/runs", new { yaml = Workflows.Sum + "\n# " + padding });

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(0, JsonNode.Parse(await host.Client.GetStringAsync("/api/runs"))!["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task Malformed_request_is_a_problem_without_a_stack_trace()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        using var response = await host.Client.PostAsync("/api/runs", new StringContent("{\"yaml\": [1,", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(" at ", text);
        Assert.DoesNotContain(".cs:line", text);
    }

    [Fact]
    public async Task Unknown_run_is_a_404_problem()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        using var response = await host.Client.GetAsync("/api/runs/nosuchrun");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }
}
