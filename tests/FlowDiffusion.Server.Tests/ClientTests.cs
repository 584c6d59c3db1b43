using System.Net;
using FlowDiffusion.Client;
using FlowDiffusion.Client.Generated;

namespace FlowDiffusion.Server.Tests;

/// <summary>The typed client (FlowDiffusion.Client) against the real server: submit, poll, outputs, history, errors.</summary>
public sealed class ClientTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Submits_waits_fetches_the_output_and_pages_the_history()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var client = new FlowDiffusionClient(host.Client);

        var first = await client.SubmitYamlAsync(Workflows.Sum, new { a = 4.5 });
        var second = await client.SubmitYamlAsync(Workflows.Sum, new { a = 10 }, idempotencyKey: "second");
        Assert.Equal(second, await client.SubmitYamlAsync(Workflows.Sum, new { a = 10 }, idempotencyKey: "second"));
        var run = await client.WaitAsync(first);
        await client.WaitAsync(second);

        Assert.Equal("completed", run.Status);
        Assert.True(run.Finished >= run.Started && run.Started >= run.Submitted);
        Assert.Equal("7.5", System.Text.Encoding.UTF8.GetString(await client.GetOutputAsync(Assert.Single(run.Outputs))));
        var page = await client.ListRunsAsync(limit: 1);
        Assert.Equal((2, second, 1), (page.Total, Assert.Single(page.Runs).Id, page.NextOffset));
        var rest = await client.ListRunsAsync(offset: 1, status: "completed");
        Assert.Equal((first, (int?)null), (Assert.Single(rest.Runs).Id, rest.NextOffset));
        await client.DeleteRunAsync(first);
        Assert.Equal(1, (await client.ListRunsAsync()).Total);
    }

    [Fact]
    public async Task Api_errors_throw_with_the_status_and_each_message()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var client = new FlowDiffusionClient(host.Client);

        var invalid = await Assert.ThrowsAsync<FlowDiffusionApiException>(() => client.SubmitYamlAsync(Workflows.Sum, new { aa = 1 }));
        var missing = await Assert.ThrowsAsync<FlowDiffusionApiException>(() => client.GetRunAsync("nosuch"));
        var id = await client.SubmitYamlAsync(Workflows.Sum);
        await client.WaitAsync(id);
        var conflict = await Assert.ThrowsAsync<FlowDiffusionApiException>(() => client.CancelAsync(id));

        Assert.Equal(HttpStatusCode.BadRequest, invalid.Status);
        Assert.Contains(invalid.Errors, e => e.StartsWith("inputs.aa: the workflow has no input 'aa'", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        Assert.Equal(HttpStatusCode.Conflict, conflict.Status);
    }

    [Fact]
    public async Task The_generated_operations_reach_every_route_and_read_its_answers()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var api = new FlowDiffusionClient(host.Client).Api;

        Assert.Equal(("ok", "ok"), ((await api.GetHealthAsync()).Status, (await api.GetHealthAsync()).Store));
        var add = Assert.Single((await api.ListNodesAsync()).Nodes, n => n.Id == "test.add");
        Assert.Equal(["a", "b"], add.Inputs.Select(i => i.Name));
        var saved = await api.SaveWorkflowAsync("sum", Workflows.Sum);
        Assert.True(saved.Valid);
        var draft = await api.SaveWorkflowAsync("draft", "flowdiffusion: 1\nnodes:\n  x: { node: test.nosuch }\n", draft: true);
        Assert.False(draft.Valid);
        Assert.Contains(draft.Diagnostics, d => d.Severity == "error" && d.Node == "x");
        Assert.Equal(["draft", "sum"], (await api.ListWorkflowsAsync()).Workflows);
        Assert.Equal(Workflows.Sum, await api.GetWorkflowAsync("sum"));

        var ticket = await api.SubmitRunAsync(new RunRequest { Workflow = "sum", Inputs = System.Text.Json.JsonSerializer.SerializeToElement(new { a = 1 }), Priority = 3 });
        Assert.Equal("queued", ticket.Status);
        using (var events = await api.StreamRunEventsAsync(ticket.Id))
        {
            var text = await events.Content.ReadAsStringAsync();
            Assert.Contains("event: run_ended", text, StringComparison.Ordinal);
        }
        var run = await api.GetRunAsync(ticket.Id);
        Assert.Equal(("completed", 3, "sum", 4), (run.Status, run.Priority, run.Workflow, run.Nodes.Count));
        Assert.Equal("4", System.Text.Encoding.UTF8.GetString(await api.GetOutputAsync(run.Id, Assert.Single(run.Outputs).File)));
        var page = await api.ListRunsAsync(status: "completed", limit: 5);
        Assert.Equal((1, (int?)null), (page.Total, page.NextOffset));

        await using var png = new MemoryStream(Images.Solid(SkiaSharp.SKColors.Blue));
        var upload = await api.UploadAsync(png, "blue.png");
        await api.DeleteUploadAsync(Path.GetFileName(upload.File));
        var gone = await Assert.ThrowsAsync<FlowDiffusionApiException>(() => api.DeleteUploadAsync(Path.GetFileName(upload.File)));
        Assert.Equal(HttpStatusCode.NotFound, gone.Status);
        var refused = await Assert.ThrowsAsync<FlowDiffusionApiException>(() => api.SubmitRunAsync(new RunRequest { Workflow = "nosuch" }));
        Assert.Equal((HttpStatusCode.NotFound, "No saved workflow 'nosuch'."), (refused.Status, refused.Detail));
    }
}
