using System.Net.Sockets;
using System.Text;

namespace FlowDiffusion.Server.Tests;

/// <summary>Sends a request target byte for byte, bypassing HttpClient's normalisation of dot segments and escapes.</summary>
internal static class RawHttp
{
    public static async Task<(int Status, string Response)> GetAsync(Uri server, string target)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        await using var stream = tcp.GetStream();
        var request = $"GET {target} HTTP/1.1\r\nHost: {server.Authority}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync();
        var status = int.Parse(response.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture);
        return (status, response);
    }
}
