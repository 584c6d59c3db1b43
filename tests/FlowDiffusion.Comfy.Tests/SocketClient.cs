using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>A ComfyUI socket client over ClientWebSocket: collects JSON messages and binary preview frames.</summary>
internal sealed class SocketClient : IAsyncDisposable
{
    private readonly ClientWebSocket socket = new();

    public List<JsonObject> Messages { get; } = [];

    public List<(int Type, int Format, byte[] Image)> Frames { get; } = [];

    public static async Task<SocketClient> ConnectAsync(Uri server, string clientId)
    {
        var client = new SocketClient();
        await client.socket.ConnectAsync(new Uri($"ws://{server.Authority}/ws?clientId={clientId}"), CancellationToken.None);
        return client;
    }

    /// <summary>Reads one message; JSON ones are returned, binary ones stored as frames (returning null).</summary>
    public async Task<JsonObject?> ReceiveAsync(CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[1 << 16];
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(chunk, cancellationToken);
            buffer.Write(chunk, 0, result.Count);
        }
        while (!result.EndOfMessage);
        var bytes = buffer.ToArray();
        if (result.MessageType == WebSocketMessageType.Binary)
        {
            Frames.Add((BinaryPrimitives.ReadInt32BigEndian(bytes), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4)), bytes[8..]));
            return null;
        }

        var message = (JsonObject)JsonNode.Parse(Encoding.UTF8.GetString(bytes))!;
        Messages.Add(message);
        return message;
    }

    /// <summary>Reads until <c>executing</c> with node null for <paramref name="promptId"/> (ComfyUI's "done" signal).</summary>
    public async Task UntilDoneAsync(string promptId, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        while (true)
        {
            var message = await ReceiveAsync(cancel.Token);
            if (message?["type"]?.GetValue<string>() == "executing" && message["data"]!["node"] is null
                && message["data"]!["prompt_id"]?.GetValue<string>() == promptId) return;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (socket.State == WebSocketState.Open)
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cancel.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
        }

        socket.Dispose();
    }
}
