using FlowDiffusion.Editor.Running;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Editor.Tests.Running;

/// <summary>
/// Run while a run of the tab is going queues another (ComfyUI's Queue): each queued with the document of that moment
/// and its own seeds, shown one after another, cancellable one by one or all at once. Real store and dispatcher, on
/// txt2img with the analytic test model at 64x64.
/// </summary>
public sealed class QueuedRunsTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private readonly SessionHost _host = new();
    private readonly List<string> _shown = [];

    private EditorSession Session => _host.Session;

    private FlowDiffusionEngine Engine => _host.Engine;

    private RunDispatcher Dispatcher => _host.Dispatcher;

    public QueuedRunsTests()
    {
        Assert.Empty(Session.OpenSaved("txt2img"));
        foreach (var (input, value) in new (string, object)[] { ("model", "models/analytic-sd"), ("prompt", "a blue ball"), ("cfg", 1.0), ("steps", 2L), ("width", 64L), ("height", 64L), ("seed", 100L) })
            Session.Document.SetInputDefault(input, value);
        Session.Changed += () =>
        {
            lock (_shown)
            {
                if (Session.Run is { } run && (_shown.Count == 0 || _shown[^1] != run.RunId)) _shown.Add(run.RunId);
            }
        };
    }

    [Fact]
    public async Task Runs_queued_behind_a_going_run_all_complete_in_order_with_the_seeds_increment_gives()
    {
        Session.Document.SetSeedControl("seed", SeedControl.Increment);

        // The dispatcher is not started yet: the first run is still going (queued) when the next two are asked for.
        for (var i = 0; i < 3; i++) Assert.True(await Session.StartRunAsync(), Session.Notice);
        var views = new[] { Session.Run! }.Concat(Session.QueuedRuns).ToList();
        Assert.Equal(2, Session.QueuedRuns.Count);
        Assert.Equal(3, views.Select(v => v.RunId).Distinct().Count());
        await Dispatcher.StartAsync(CancellationToken.None);
        await UntilAsync(() => Session.Run == views[2] && views[2].Finished);

        Assert.Empty(Session.QueuedRuns);
        Assert.All(views, v => Assert.Equal("done", v.Outcome));
        Assert.All(views, v => Assert.Single(v.Images));
        var records = await Task.WhenAll(views.Select(v => Session.Runs.GetAsync(v.RunId, CancellationToken.None)));
        Assert.Equal([100L, 101L, 102L], records.Select(r => SeedOf(r!)));
        Assert.All(records, r => Assert.Equal(RunState.Completed, r!.Status));
        Assert.True(records[0]!.Finished <= records[1]!.Started && records[1]!.Finished <= records[2]!.Started);
        Assert.Equal(103L, Session.Document.Workflow.Input("seed")!.Default);
        lock (_shown) Assert.Equal(views.Select(v => v.RunId), _shown);
    }

    [Fact]
    public async Task A_run_count_queues_that_many_runs_each_with_its_own_seed()
    {
        Session.Document.SetSeedControl("seed", SeedControl.Decrement);

        Assert.Equal(3, await Session.StartRunsAsync(3));

        var views = new[] { Session.Run! }.Concat(Session.QueuedRuns).ToList();
        var records = await Task.WhenAll(views.Select(v => Session.Runs.GetAsync(v.RunId, CancellationToken.None)));
        Assert.Equal([100L, 99L, 98L], records.Select(r => SeedOf(r!)));
        Assert.Equal(97L, Session.Document.Workflow.Input("seed")!.Default);
    }

    [Fact]
    public async Task Each_queued_run_takes_the_document_as_it_was_when_queued()
    {
        Assert.True(await Session.StartRunAsync(), Session.Notice);
        Session.Document.SetInputDefault("prompt", "a red cube");
        Assert.True(await Session.StartRunAsync(), Session.Notice);

        var yamls = await Task.WhenAll(new[] { Session.Run!, Session.QueuedRuns.Single() }
            .Select(async v => WorkflowYamlReader.Read((await Session.Runs.GetAsync(v.RunId, CancellationToken.None))!.Yaml).Workflow!));
        Assert.Equal(["a blue ball", "a red cube"], yamls.Select(w => (string)w.Input("prompt")!.Default!));
    }

    [Fact]
    public async Task Cancel_stops_the_executing_run_and_the_tab_moves_on_to_the_next_queued_one()
    {
        await Dispatcher.StartAsync(CancellationToken.None);
        // A run that cannot end before it is cancelled: tiny-sd's real UNet, 1000 steps at 512×512 (tens of seconds).
        Session.Document.SetInputDefault("model", "models/tiny-sd");
        Session.Document.SetInputDefault("steps", 1000L);
        Session.Document.SetInputDefault("width", 512L);
        Session.Document.SetInputDefault("height", 512L);
        Assert.True(await Session.StartRunAsync(), Session.Notice);
        var first = Session.Run!;
        await UntilAsync(() => first.Progress.Count > 0);
        Session.Document.SetInputDefault("model", "models/analytic-sd");
        Session.Document.SetInputDefault("steps", 2L);
        Session.Document.SetInputDefault("width", 64L);
        Session.Document.SetInputDefault("height", 64L);
        Assert.True(await Session.StartRunAsync(), Session.Notice);
        var second = Assert.Single(Session.QueuedRuns);

        await Session.CancelRunAsync();
        await UntilAsync(() => Session.Run == second && second.Finished);

        Assert.Equal("cancelled", first.Outcome);
        Assert.Equal("done", second.Outcome);
        Assert.Single(second.Images);
        Assert.Equal(RunState.Cancelled, (await Session.Runs.GetAsync(first.RunId, CancellationToken.None))!.Status);
        Assert.Empty(Session.QueuedRuns);
    }

    [Fact]
    public async Task Queued_runs_cancel_one_by_one_or_all_at_once_and_the_shown_run_goes_on()
    {
        for (var i = 0; i < 4; i++) Assert.True(await Session.StartRunAsync(), Session.Notice);
        var first = Session.Run!;
        var queued = Session.QueuedRuns;

        await Session.CancelQueuedAsync(queued[1].RunId);
        Assert.Equal([queued[0].RunId, queued[2].RunId], Session.QueuedRuns.Select(v => v.RunId));
        await Session.CancelQueuedAsync();
        Assert.Empty(Session.QueuedRuns);
        await Dispatcher.StartAsync(CancellationToken.None);
        await UntilAsync(() => first.Finished);
        // The follower has nothing left to move on to: the finished first run stays shown.
        await Task.Delay(200);

        Assert.Same(first, Session.Run);
        Assert.Equal("done", first.Outcome);
        foreach (var view in queued)
            Assert.Equal(RunState.Cancelled, (await Session.Runs.GetAsync(view.RunId, CancellationToken.None))!.Status);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static long SeedOf(RunRecord record) => (long)WorkflowYamlReader.Read(record.Yaml).Workflow!.Input("seed")!.Default!;

    private static async Task UntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The runs did not get there in " + Patience);
            await Task.Delay(10);
        }
    }
}
