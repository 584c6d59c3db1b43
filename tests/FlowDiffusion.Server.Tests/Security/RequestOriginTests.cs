using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace FlowDiffusion.Server.Tests.Security;

/// <summary>Browsers as attackers: DNS rebinding (foreign Host names), cross-origin writes, and binding checks.</summary>
public sealed class RequestOriginTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData("attacker.example", HttpStatusCode.MisdirectedRequest)]
    [InlineData("127.0.0.1.nip.io", HttpStatusCode.MisdirectedRequest)]
    [InlineData("localhost", HttpStatusCode.OK)]
    [InlineData("127.0.0.1", HttpStatusCode.OK)]
    [InlineData("[::1]", HttpStatusCode.OK)]
    public async Task Without_an_api_key_only_loopback_host_names_are_served(string host, HttpStatusCode expected)
    {
        await using var server = await ApiHost.StartAsync(_folder.Path);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/nodes");
        request.Headers.Host = $"{host}:{server.Client.BaseAddress!.Port}";

        using var response = await server.Client.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task Configured_host_names_and_an_api_key_lift_the_host_check()
    {
        // One process owns a run database at a time, so each host stops before the next starts on the folder.
        await using (var named = await ApiHost.StartAsync(_folder.Path, ("FlowDiffusion:Server:AllowedHosts:0", "gpu-box.lan")))
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/nodes"))
        {
            request.Headers.Host = "gpu-box.lan";
            Assert.Equal(HttpStatusCode.OK, (await named.Client.SendAsync(request)).StatusCode);
        }

        await using var keyed = await ApiHost.StartAsync(_folder.Path, ("FlowDiffusion:Server:ApiKey", "k"));
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/nodes"))
        {
            request.Headers.Host = "gpu-box.lan";
            request.Headers.Add("X-Api-Key", "k");
            Assert.Equal(HttpStatusCode.OK, (await keyed.Client.SendAsync(request)).StatusCode);
        }
    }

    [Theory]
    [InlineData("Origin", "http://attacker.example", HttpStatusCode.Forbidden)]
    [InlineData("Origin", "null", HttpStatusCode.Forbidden)]
    [InlineData("Sec-Fetch-Site", "cross-site", HttpStatusCode.Forbidden)]
    [InlineData("Origin", "SELF", HttpStatusCode.Accepted)]
    [InlineData("Sec-Fetch-Site", "same-origin", HttpStatusCode.Accepted)]
    public async Task State_changing_requests_from_another_origin_are_refused(string header, string value, HttpStatusCode expected)
    {
        await using var server = await ApiHost.StartAsync(_folder.Path);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/runs")
        {
            Content = new StringContent("{\"yaml\":" + System.Text.Json.JsonSerializer.Serialize(Workflows.Sum) + "}", Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation(header, value == "SELF" ? server.Client.BaseAddress!.GetLeftPart(UriPartial.Authority) : value);

        using var response = await server.Client.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task Cross_origin_upload_is_refused()
    {
        await using var server = await ApiHost.StartAsync(_folder.Path);
        using var form = new MultipartFormDataContent { { new ByteArrayContent(Images.Solid(SkiaSharp.SKColors.Red)), "file", "a.png" } };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/uploads") { Content = form };
        request.Headers.Add("Origin", "http://attacker.example");

        using var response = await server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.False(Directory.Exists(Path.Combine(_folder.Path, "data", "uploads")) && Directory.EnumerateFiles(Path.Combine(_folder.Path, "data", "uploads")).Any());
    }

    [Fact]
    public async Task An_address_bound_beyond_configuration_without_an_api_key_stops_the_server_naming_it()
    {
        // A listener configuration cannot show (code calling Listen, as ASPNETCORE_URLS or HTTP_PORTS would add one).
        await using var app = ServerHost.Create(["http://127.0.0.1:0"],
            new Dictionary<string, string?> { ["FlowDiffusion:DataFolder"] = Path.Combine(_folder.Path, "data"), ["FlowDiffusion:WatchPlugins"] = "false" },
            configureServices: s => s.Configure<KestrelServerOptions>(k => k.ListenAnyIP(0)));

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync());

        Assert.Contains("API key", e.Message);
        var port = int.Parse(System.Text.RegularExpressions.Regex.Match(e.Message, @"(?:\]|0\.0\.0\.0):(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(port, 1, 65535);
        using var client = new System.Net.Sockets.TcpClient();
        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(() => client.ConnectAsync(IPAddress.Loopback, port));
    }

    [Fact]
    public async Task An_address_bound_beyond_configuration_is_served_with_an_api_key()
    {
        await using var app = ServerHost.Create(["http://127.0.0.1:0"],
            new Dictionary<string, string?>
            {
                ["FlowDiffusion:DataFolder"] = Path.Combine(_folder.Path, "data"), ["FlowDiffusion:WatchPlugins"] = "false", ["FlowDiffusion:Server:ApiKey"] = "k",
            },
            configureServices: s => s.Configure<KestrelServerOptions>(k => k.ListenAnyIP(0)));

        await app.StartAsync();

        Assert.Contains(app.Urls, u => !ServerHost.IsLoopback(u));
        await app.StopAsync();
    }

    [Fact]
    public void Kestrel_endpoints_in_configuration_count_for_the_api_key_check()
    {
        var e = Assert.Throws<InvalidOperationException>(() => ServerHost.Create(["http://127.0.0.1:0"],
            new Dictionary<string, string?> { ["Kestrel:Endpoints:Lan:Url"] = "http://0.0.0.0:0", ["FlowDiffusion:DataFolder"] = Path.Combine(_folder.Path, "data") }));

        Assert.Contains("0.0.0.0", e.Message);
        Assert.Contains("API key", e.Message);
    }
}
