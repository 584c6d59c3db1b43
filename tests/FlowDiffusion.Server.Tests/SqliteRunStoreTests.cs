using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Server.Tests;

public sealed class SqliteRunStoreTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private SqliteRunStore Open() => new(Path.Combine(_folder.Path, "data", "runs.db"));

    [Fact]
    public async Task Claims_follow_priority_then_submission_order()
    {
        var store = Open();
        var a = (await store.AddAsync(new RunSubmission("a", "{}"), default)).Run.Id;
        var b = (await store.AddAsync(new RunSubmission("b", "{}", Priority: 2), default)).Run.Id;
        var c = (await store.AddAsync(new RunSubmission("c", "{}"), default)).Run.Id;
        var d = (await store.AddAsync(new RunSubmission("d", "{}", Priority: 2), default)).Run.Id;

        var order = new List<string>();
        while (await store.ClaimNextAsync(default) is { } run)
        {
            Assert.Equal(RunState.Running, run.Status);
            Assert.Equal(1, run.Attempts);
            order.Add(run.Id);
        }

        Assert.Equal([b, d, a, c], order);
    }

    [Fact]
    public async Task Crash_recovery_requeues_a_run_once_then_marks_it_interrupted()
    {
        var id = (await Open().AddAsync(new RunSubmission("yaml", "{}"), default)).Run.Id;
        var waiting = (await Open().AddAsync(new RunSubmission("waiting", "{}"), default)).Run.Id;
        Assert.Equal(id, (await Open().ClaimNextAsync(default))!.Id);

        // First crash: a fresh store on the same file, as after kill -9.
        var afterFirst = Open();
        Assert.Equal(new RecoveryResult(1, 0), await afterFirst.RecoverAsync(default));
        Assert.Equal(RunState.Queued, (await afterFirst.GetAsync(id, default))!.Status);
        var again = await afterFirst.ClaimNextAsync(default);
        Assert.Equal((id, 2), (again!.Id, again.Attempts));

        var afterSecond = Open();
        Assert.Equal(new RecoveryResult(0, 1), await afterSecond.RecoverAsync(default));
        var run = (await afterSecond.GetAsync(id, default))!;
        Assert.Equal(RunState.Interrupted, run.Status);
        Assert.NotNull(run.Finished);
        Assert.Contains("interrupted", run.Error);
        Assert.Equal(RunState.Queued, (await afterSecond.GetAsync(waiting, default))!.Status);
    }

    [Fact]
    public async Task Graceful_requeue_does_not_count_the_attempt()
    {
        var store = Open();
        var id = (await store.AddAsync(new RunSubmission("yaml", "{}"), default)).Run.Id;
        var claimed = (await store.ClaimNextAsync(default))!;

        await store.RequeueAsync(claimed.Lease!, default);

        var run = (await store.GetAsync(id, default))!;
        Assert.Equal((RunState.Queued, 0, null), (run.Status, run.Attempts, run.Started));
    }

    [Fact]
    public async Task Finish_records_timings_outputs_and_error_and_delete_only_takes_final_runs()
    {
        var store = Open();
        var id = (await store.AddAsync(new RunSubmission("yaml", "{\"a\":1}", "sum", 0, "key"), default)).Run.Id;
        Assert.False(await store.DeleteAsync(id, default));
        var claimed = (await store.ClaimNextAsync(default))!;

        await store.FinishAsync(claimed.Lease!, new RunFinish(RunState.Failed, "[{\"node\":\"x\"}]", "[\"a.png\"]", "boom"), default);

        var run = (await store.GetAsync(id, default))!;
        Assert.Equal((RunState.Failed, "[{\"node\":\"x\"}]", "[\"a.png\"]", "boom", "sum", "key", "{\"a\":1}"),
            (run.Status, run.NodesJson, run.OutputsJson, run.Error, run.Workflow, run.IdempotencyKey, run.InputsJson));
        Assert.Equal(CancelOutcome.NotActive, await store.CancelAsync(id, default));
        Assert.True(await store.DeleteAsync(id, default));
        Assert.Null(await store.GetAsync(id, default));
    }
}
