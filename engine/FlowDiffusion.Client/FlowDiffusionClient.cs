using System.Text.Json;
using FlowDiffusion.Client.Generated;
using G = FlowDiffusion.Client.Generated;

namespace FlowDiffusion.Client;

/// <summary>
/// The FlowDiffusion HTTP API, typed: submit a run (a saved workflow by name, or YAML, with named inputs), follow it,
/// fetch its outputs, page the history, cancel and delete, list the models. Errors throw <see cref="FlowDiffusionApiException"/>.
/// A thin layer over <see cref="Api"/>, the client generated from the OpenAPI document, which has every route.
/// </summary>
/// <param name="http">An HttpClient whose BaseAddress is the server (e.g. http://127.0.0.1:8188); it is not disposed here.</param>
/// <param name="apiKey">The server's API key, when it has one.</param>
public sealed class FlowDiffusionClient(HttpClient http, string? apiKey = null)
{
    /// <summary>Every operation of the API, generated from its OpenAPI document (nodes, workflows, uploads, events …).</summary>
    public FlowDiffusionApiClient Api { get; } = new(http, apiKey);

    /// <summary>Queues a saved workflow by name with <paramref name="inputs"/>; returns the run's id.</summary>
    public Task<string> SubmitWorkflowAsync(string workflow, object? inputs = null, int? priority = null, string? idempotencyKey = null, CancellationToken cancellationToken = default) =>
        SubmitAsync(new RunRequest { Workflow = workflow, Inputs = InputsOf(inputs), Priority = priority }, idempotencyKey, cancellationToken);

    /// <summary>Queues workflow YAML with <paramref name="inputs"/>; returns the run's id.</summary>
    public Task<string> SubmitYamlAsync(string yaml, object? inputs = null, int? priority = null, string? idempotencyKey = null, CancellationToken cancellationToken = default) =>
        SubmitAsync(new RunRequest { Yaml = yaml, Inputs = InputsOf(inputs), Priority = priority }, idempotencyKey, cancellationToken);

    /// <summary>The run <paramref name="id"/>.</summary>
    public async Task<RunInfo> GetRunAsync(string id, CancellationToken cancellationToken = default) =>
        InfoOf(await Api.GetRunAsync(id, cancellationToken).ConfigureAwait(false));

    /// <summary>Polls the run every <paramref name="interval"/> (default 100 ms) until it has ended.</summary>
    public async Task<RunInfo> WaitAsync(string id, TimeSpan? interval = null, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var run = await GetRunAsync(id, cancellationToken).ConfigureAwait(false);
            if (run.IsFinal) return run;
            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One page of history, newest first, optionally only runs in <paramref name="status"/>.</summary>
    public async Task<RunPage> ListRunsAsync(int offset = 0, int? limit = null, string? status = null, CancellationToken cancellationToken = default)
    {
        var page = await Api.ListRunsAsync(status, offset, limit, cancellationToken).ConfigureAwait(false);
        return new RunPage { Runs = [.. page.Runs.Select(InfoOf)], Total = page.Total, Offset = page.Offset, NextOffset = page.NextOffset };
    }

    /// <summary>What the server's models folder holds (<c>GET /api/models</c>), ordered by path.</summary>
    public async Task<IReadOnlyList<ModelInfo>> ListModelsAsync(CancellationToken cancellationToken = default) =>
        [.. (await Api.ListModelsAsync(cancellationToken).ConfigureAwait(false)).Models.Select(m => new ModelInfo(m.Path, m.Kind, m.Architecture, m.Precision, m.Bytes))];

    /// <summary>The bytes of <paramref name="output"/>.</summary>
    public Task<byte[]> GetOutputAsync(RunOutput output, CancellationToken cancellationToken = default) => Api.GetBytesAsync(output.Url, cancellationToken);

    /// <summary>Asks the run to stop (a queued run never starts).</summary>
    public async Task CancelAsync(string id, CancellationToken cancellationToken = default) =>
        await Api.CancelRunAsync(id, cancellationToken).ConfigureAwait(false);

    /// <summary>Deletes a finished run and its files.</summary>
    public Task DeleteRunAsync(string id, CancellationToken cancellationToken = default) => Api.DeleteRunAsync(id, cancellationToken);

    private async Task<string> SubmitAsync(RunRequest body, string? idempotencyKey, CancellationToken cancellationToken) =>
        (await Api.SubmitRunAsync(body, idempotencyKey, cancellationToken).ConfigureAwait(false)).Id;

    private static JsonElement? InputsOf(object? inputs) => inputs is null ? null : JsonSerializer.SerializeToElement(inputs, FlowDiffusionApiClient.Json);

    private static RunInfo InfoOf(G.Run run) => new()
    {
        Id = run.Id,
        Status = run.Status,
        Workflow = run.Workflow,
        Priority = run.Priority,
        Submitted = run.Submitted,
        Started = run.Started,
        Finished = run.Finished,
        Inputs = run.Inputs,
        Outputs = [.. run.Outputs.Select(o => new RunOutput(o.File, o.Url))],
        Error = run.Error,
    };
}
