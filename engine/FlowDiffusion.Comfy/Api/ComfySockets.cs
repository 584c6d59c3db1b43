using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Api;

/// <summary>
/// The clients connected to <c>/ws</c>, by ComfyUI session id: JSON messages <c>{ type, data }</c> to one client or all,
/// and binary preview frames (big-endian event type 1, format 2 = PNG, then the image).
/// </summary>
public sealed class ComfySockets
{
    /// <summary>Binary event type of a preview image.</summary>
    public const int PreviewImageEvent = 1;

    /// <summary>Preview format code for PNG (1 is JPEG).</summary>
    public const int PngFormat = 2;

    private readonly ConcurrentDictionary<string, Client> clients = new(StringComparer.Ordinal);

    /// <summary>How many clients are connected.</summary>
    public int Count => clients.Count;

    /// <summary>Serves one socket until it closes: registers it under <paramref name="sid"/>, sends <paramref name="hello"/>, reads until closed.</summary>
    /// <param name="socket">The accepted socket.</param>
    /// <param name="sid">The session id (the client's clientId, or a fresh one).</param>
    /// <param name="hello">The first message (ComfyUI's status with the sid).</param>
    /// <param name="cancellationToken">Stops serving (the request ended).</param>
    public async Task ServeAsync(WebSocket socket, string sid, JsonObject hello, CancellationToken cancellationToken)
    {
        var client = new Client(socket);
        clients[sid] = client;
        try
        {
            await client.SendAsync(Text(hello), WebSocketMessageType.Text, cancellationToken);
            var buffer = new byte[4096];
            while (socket.State == WebSocketState.Open && !cancellationToken.IsCancellationRequested)
            {
                // Clients may send feature flags; nothing they send changes what we do.
                var received = await socket.ReceiveAsync(buffer, cancellationToken);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    break;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // The client went away.
        }
        finally
        {
            clients.TryRemove(new KeyValuePair<string, Client>(sid, client));
        }
    }

    /// <summary>Sends a JSON message to client <paramref name="sid"/>, or to every client when it is null (as ComfyUI does).</summary>
    /// <param name="type">The message type.</param>
    /// <param name="data">Its data.</param>
    /// <param name="sid">The client, or null for all.</param>
    public Task SendAsync(string type, JsonObject data, string? sid) =>
        SendToAsync(Text(new JsonObject { ["type"] = type, ["data"] = data }), WebSocketMessageType.Text, sid);

    /// <summary>Sends a PNG preview frame to client <paramref name="sid"/> (or all).</summary>
    /// <param name="png">The PNG bytes.</param>
    /// <param name="sid">The client, or null for all.</param>
    public Task SendPreviewAsync(byte[] png, string? sid)
    {
        var frame = new byte[8 + png.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, PreviewImageEvent);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(4), PngFormat);
        png.CopyTo(frame, 8);
        return SendToAsync(frame, WebSocketMessageType.Binary, sid);
    }

    private async Task SendToAsync(byte[] payload, WebSocketMessageType type, string? sid)
    {
        var targets = sid is null ? clients.Values.ToList() : clients.TryGetValue(sid, out var one) ? [one] : [];
        foreach (var client in targets) await client.SendAsync(payload, type, CancellationToken.None);
    }

    private static byte[] Text(JsonObject message) => Encoding.UTF8.GetBytes(message.ToJsonString());

    private sealed class Client(WebSocket socket)
    {
        private readonly SemaphoreSlim gate = new(1, 1);

        public async Task SendAsync(byte[] payload, WebSocketMessageType type, CancellationToken cancellationToken)
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                if (socket.State != WebSocketState.Open) return;
                // A stalled client must not hold up the run that reports to it.
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                await socket.SendAsync(payload, type, endOfMessage: true, timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                socket.Abort();
            }
            finally
            {
                gate.Release();
            }
        }
    }
}
