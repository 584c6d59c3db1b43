using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;
using FlowDiffusion.Server.Runs;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Server.Tests;

/// <summary>
/// A run subscribed to at submission (<see cref="IRunBackend.SubmitSubscribedAsync"/>) delivers every event, even read
/// after the run ended: a prompt whose nodes all come from the cache ends before a watcher that subscribes afterwards
/// is on the bus, and that watcher gets only run_state and run_ended (ComfyUI's SaveImageWebsocket frames were lost so).
/// </summary>
public sealed class SubmitSubscribedTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private EmbeddedRunBackend Backend() =>
        new(new SqliteRunStore(Path.Combine(_folder.Path, "runs.db")), new RunEventBus(),
            new LocalOutputStore(Path.Combine(_folder.Path, "outputs")), Options.Create(new ServerOptions()));

    [Fact]
    public async Task Messages_subscribed_at_submission_hold_every_preview_of_a_run_that_ended_before_they_were_read()
    {
        var backend = Backend();
        var (run, created, messages) = await backend.SubmitSubscribedAsync(new RunSubmission("yaml", "{}"), default);

        // The whole run happens before anyone reads: claimed, two images sent, finished.
        var claimed = (await backend.ClaimAsync("worker", default))!;
        Assert.Equal(run.Id, claimed.Id);
        backend.Publish(claimed.Lease!, new RunStarted(run.Id, DateTimeOffset.UtcNow, ["send"]));
        backend.Publish(claimed.Lease!, new NodeStarted(run.Id, DateTimeOffset.UtcNow, "send", "image.send"));
        backend.Publish(claimed.Lease!, new NodePreviewed(run.Id, DateTimeOffset.UtcNow, "send", new Image(1, 1, 2, [0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f])));
        backend.Publish(claimed.Lease!, new NodePreviewed(run.Id, DateTimeOffset.UtcNow, "send", new Image(1, 2, 1, [0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f])));
        backend.Publish(claimed.Lease!, new NodeFinished(run.Id, DateTimeOffset.UtcNow, "send", "image.send", TimeSpan.FromMilliseconds(3)));
        Assert.True(await backend.CompleteAsync(claimed.Lease!, new RunFinish(RunState.Completed, "[]", "[]"), default));

        var late = new List<RunMessage>();
        await foreach (var message in backend.SubscribeAsync(run.Id, default)) late.Add(message);
        var early = new List<RunMessage>();
        await foreach (var message in messages) early.Add(message);

        Assert.True(created);
        Assert.Equal([RunMessage.StateKind, RunMessage.EndedKind], late.Select(m => m.Kind));
        Assert.Equal(RunMessage.StateKind, early[0].Kind);
        Assert.Equal(RunMessage.EndedKind, early[^1].Kind);
        var previews = early.Where(m => m.Event is NodePreviewed).Select(m => (NodePreviewed)m.Event!).ToList();
        Assert.Equal([(1, 2), (2, 1)], previews.Select(p => (p.Preview.Height, p.Preview.Width)));
        Assert.Equal(0.9f, previews[1].Preview.Pixels[0]);
        Assert.Contains(early, m => m.Event is NodeFinished { NodeId: "send" });
    }

    [Fact]
    public async Task An_idempotent_resubmission_of_a_finished_run_subscribes_to_its_end()
    {
        var backend = Backend();
        var (first, _, firstMessages) = await backend.SubmitSubscribedAsync(new RunSubmission("yaml", "{}", IdempotencyKey: "once"), default);
        var claimed = (await backend.ClaimAsync("worker", default))!;
        Assert.True(await backend.CompleteAsync(claimed.Lease!, new RunFinish(RunState.Completed, "[]", "[]"), default));
        await foreach (var _ in firstMessages)
        {
        }

        var (again, created, messages) = await backend.SubmitSubscribedAsync(new RunSubmission("yaml", "{}", IdempotencyKey: "once"), default);
        var kinds = new List<string>();
        await foreach (var message in messages.WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token)) kinds.Add(message.Kind);

        Assert.False(created);
        Assert.Equal(first.Id, again.Id);
        Assert.Equal([RunMessage.StateKind, RunMessage.EndedKind], kinds);
    }
}
