using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;

namespace FlowDiffusion.Comfy.Api;

/// <summary>One prompt queued through the ComfyUI layer: what the client sent, its run, and what ComfyUI's history reports.</summary>
public sealed class ComfyPrompt
{
    private readonly object gate = new();
    private readonly List<(string Type, JsonObject Data)> messages = [];
    private readonly Dictionary<string, List<(string List, JsonNode File)>> outputs = new(StringComparer.Ordinal);

    /// <summary>Creates the record of a queued prompt.</summary>
    public ComfyPrompt(string id, long number, string? clientId, JsonObject prompt, JsonNode? extraData, PromptConversion conversion)
    {
        Id = id;
        Number = number;
        ClientId = clientId;
        Prompt = prompt;
        ExtraData = extraData;
        Conversion = conversion;
    }

    /// <summary>The prompt id (our run id).</summary>
    public string Id { get; }

    /// <summary>ComfyUI's queue number.</summary>
    public long Number { get; }

    /// <summary>The submitting client's id, or null (then events go to every client).</summary>
    public string? ClientId { get; }

    /// <summary>The API-format prompt as sent.</summary>
    public JsonObject Prompt { get; }

    /// <summary>The client's extra_data, as sent.</summary>
    public JsonNode? ExtraData { get; }

    /// <summary>The conversion, for mapping our node ids back.</summary>
    public PromptConversion Conversion { get; }

    /// <summary>success or error once finished; null before.</summary>
    public string? StatusText { get; private set; }

    /// <summary>Whether it finished successfully.</summary>
    public bool Completed { get; private set; }

    /// <summary>Whether it has finished (in any way).</summary>
    public bool Finished => StatusText is not null;

    /// <summary>The last sampling progress its run reported (what the socket's <c>progress</c> message said), or null before any.</summary>
    public ComfyProgress? Progress { get; set; }

    /// <summary>Records a status message (kept in history) and returns its data.</summary>
    public JsonObject Record(string type, JsonObject data)
    {
        lock (gate) messages.Add((type, data.DeepClone().AsObject()));
        return data;
    }

    /// <summary>Adds an entry to one of an output node's lists: a file (<c>images</c>, or <c>latents</c> for SaveLatent), or PreviewAny's <c>text</c>.</summary>
    public void AddOutput(string comfyId, string list, JsonNode file)
    {
        lock (gate)
        {
            if (!outputs.TryGetValue(comfyId, out var files)) outputs[comfyId] = files = [];
            // The same file can be reported live and again from the run's record (a watcher that joined late): list it once.
            if (!files.Any(f => f.List == list && JsonNode.DeepEquals(f.File, file))) files.Add((list, file));
        }
    }

    /// <summary>An output node's UI output so far, as ComfyUI's <c>executed</c> message and history give it: <c>{images: […]}</c>, <c>{latents: […]}</c> or <c>{text: […]}</c>.</summary>
    public JsonObject OutputOf(string comfyId)
    {
        lock (gate) return UiOutput(outputs.GetValueOrDefault(comfyId) ?? []);
    }

    private static JsonObject UiOutput(List<(string List, JsonNode File)> files)
    {
        var output = new JsonObject();
        foreach (var group in files.GroupBy(f => f.List, StringComparer.Ordinal))
        {
            output[group.Key] = new JsonArray(group.Select(f => (JsonNode)f.File.DeepClone()).ToArray());
        }

        if (output.Count == 0) output["images"] = new JsonArray();
        return output;
    }

    /// <summary>Marks the prompt finished.</summary>
    public void Finish(bool success)
    {
        lock (gate)
        {
            StatusText = success ? "success" : "error";
            Completed = success;
        }
    }

    /// <summary>
    /// Records the final status message (<c>execution_success</c>, <c>execution_error</c>, <c>execution_interrupted</c>)
    /// and marks the prompt finished in one step, so no reader of its history sees it finished without that message.
    /// </summary>
    public void Finish(bool success, string type, JsonObject data)
    {
        lock (gate)
        {
            messages.Add((type, data.DeepClone().AsObject()));
            StatusText = success ? "success" : "error";
            Completed = success;
        }
    }

    /// <summary>ComfyUI's queue tuple: [number, prompt_id, prompt, extra_data, outputs_to_execute].</summary>
    public JsonArray QueueEntry() =>
    [
        Number, Id, Prompt.DeepClone(), ExtraData?.DeepClone() ?? new JsonObject(),
        new JsonArray(Conversion.OutputNodes.Select(o => (JsonNode)JsonValue.Create(o)).ToArray()),
    ];

    /// <summary>ComfyUI's history entry: prompt, outputs, status and meta.</summary>
    public JsonObject HistoryEntry()
    {
        lock (gate)
        {
            var outputJson = new JsonObject();
            var meta = new JsonObject();
            foreach (var (id, files) in outputs)
            {
                outputJson[id] = UiOutput(files);
                meta[id] = new JsonObject { ["node_id"] = id, ["display_node"] = id, ["parent_node"] = null, ["real_node_id"] = id };
            }

            return new JsonObject
            {
                ["prompt"] = QueueEntry(),
                ["outputs"] = outputJson,
                ["status"] = new JsonObject
                {
                    ["status_str"] = StatusText,
                    ["completed"] = Completed,
                    ["messages"] = new JsonArray(messages.Select(m => (JsonNode)new JsonArray(m.Type, m.Data.DeepClone())).ToArray()),
                },
                ["meta"] = meta,
            };
        }
    }
}
