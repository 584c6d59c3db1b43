using System.Net;
using FlowDiffusion.Client;

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
}
