using System.Net;
using System.Net.Sockets;
using FlowDiffusion.Editor.Running;

namespace FlowDiffusion.Editor.Tests.Running;

/// <summary>The server an editor is attached to: a setting that is no address is refused at start, one that does not answer is named.</summary>
public sealed class RemoteServerTests
{
    [Theory]
    [InlineData("gpu-box:8188")]
    [InlineData("ftp://gpu-box/")]
    [InlineData("/api")]
    public void A_server_setting_that_is_no_http_address_is_refused_naming_the_setting_and_the_form(string setting)
    {
        var error = Assert.Throws<InvalidOperationException>(() => RemoteServer.From(new EditorOptions { Server = setting }));

        Assert.Equal($"FlowDiffusion:Editor:Server (--server) '{setting}' is not a server address: give http://HOST:PORT, e.g. http://127.0.0.1:8188.", error.Message);
    }

    [Fact]
    public void No_server_setting_is_local_mode_and_a_path_after_the_address_is_dropped()
    {
        Assert.Null(RemoteServer.From(new EditorOptions { Server = " " }));
        using var server = RemoteServer.From(new EditorOptions { Server = "http://127.0.0.1:8188/api/" })!;
        Assert.Equal("http://127.0.0.1:8188", server.Name);
    }

    [Fact]
    public async Task A_server_that_does_not_answer_is_named_with_why()
    {
        // A loopback port nobody listens on: connection refused.
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        using var server = RemoteServer.From(new EditorOptions { Server = $"http://127.0.0.1:{port}" })!;

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => server.Client.ListRunsAsync());

        Assert.True(RemoteServer.IsServerError(error));
        Assert.StartsWith($"http://127.0.0.1:{port} is not answering (Connection refused", server.Describe(error));
    }
}
