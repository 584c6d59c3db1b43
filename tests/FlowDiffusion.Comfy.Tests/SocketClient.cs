using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Websocket.Client;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// A ComfyUI socket client over the Websocket.Client package (what many .NET ComfyUI clients use): collects JSON
/// messages and binary preview frames. Reconnection is off, so a dropped socket fails the test instead of hiding.
/// </summary>
internal sealed class SocketClient : IAsyncDisposable
{
    private readonly WebsocketClient socket;
    private readonly Channel<ResponseMessage> received = Channel.CreateUnbounded<ResponseMessage>();
    private readonly IDisposable subscription;

    private SocketClient(Uri url)
    {
        socket = new WebsocketClient(url) { IsReconnectionEnabled = false, ReconnectTimeout = null };
        subscription = socket.MessageReceived.Subscribe(message => received.Writer.TryWrite(message));
    }

    public List<JsonObject> Messages { get; } = [];

    public List<(int Type, int Format, byte[] Image)> Frames { get; } = [];

    public static async Task<SocketClient> ConnectAsync(Uri server, string clientId)
    {
        var client = new SocketClient(new Uri($"ws://{server.Authority}/ws?clientId={clientId}"));
        await client.socket.StartOrFail();
        return client;
    }

    /// <summary>Reads one message; JSON ones are returned, binary ones stored as frames (returning null).</summary>
    public async Task<JsonObject?> ReceiveAsync(CancellationToken cancellationToken)
    {
        var message = await received.Reader.ReadAsync(cancellationToken);
        if (message.MessageType == WebSocketMessageType.Binary)
        {
            var bytes = message.Binary!;
            Frames.Add((BinaryPrimitives.ReadInt32BigEndian(bytes), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4)), bytes[8..]));
            return null;
        }

        var json = (JsonObject)JsonNode.Parse(message.Text!)!;
        Messages.Add(json);
        return json;
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
        subscription.Dispose();
        if (socket.IsRunning)
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await socket.Stop(WebSocketCloseStatus.NormalClosure, "done").WaitAsync(cancel.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or TimeoutException)
            {
            }
        }

        socket.Dispose();
    }
}
