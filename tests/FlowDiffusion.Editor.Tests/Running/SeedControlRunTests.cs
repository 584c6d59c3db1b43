using FlowDiffusion.Editor.Running;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Tests.Running;

/// <summary>
/// Seed controls around a queued run: the queued workflow carries the seed shown (randomize rolls it first), and
/// increment and decrement move the shown seed only after the run is queued, with no undo step. The dispatcher is not
/// started, so the run stays queued and its YAML is read back from the store.
/// </summary>
public sealed class SeedControlRunTests : IAsyncLifetime
{
    private readonly SessionHost _host = new();


    private EditorSession Session => _host.Session;

    private FlowDiffusionEngine Engine => _host.Engine;

    public SeedControlRunTests()
    {
        Assert.Empty(Session.OpenSaved("txt2img"));
    }

    [Theory]
    [InlineData(SeedControl.Increment, 33L)]
    [InlineData(SeedControl.Decrement, 31L)]
    public async Task The_run_uses_the_seed_shown_then_the_widget_shows_the_next_one(SeedControl control, long next)
    {
        Session.Document.SetSeedControl("seed", control);
        Session.Document.MarkSaved();

        Assert.True(await Session.StartRunAsync(), Session.Notice);

        Assert.Equal(32L, await QueuedSeedAsync());
        Assert.Equal(next, Session.Document.Workflow.Input("seed")!.Default);
        Assert.True(Session.Document.IsDirty);
        Session.Document.Undo();
        Assert.Equal(SeedControl.Fixed, Session.Document.SeedControlOf("seed"));
        Assert.Equal(next, Session.Document.Workflow.Input("seed")!.Default);
    }

    [Fact]
    public async Task A_randomized_run_uses_the_new_seed_that_is_then_shown()
    {
        Session.Document.SetSeedControl("seed", SeedControl.Randomize);

        Assert.True(await Session.StartRunAsync(), Session.Notice);

        var shown = (long)Session.Document.Workflow.Input("seed")!.Default!;
        Assert.Equal(shown, await QueuedSeedAsync());
        Assert.NotEqual(32L, shown);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<object?> QueuedSeedAsync()
    {
        var run = await Session.Runs.GetAsync(Session.Run!.RunId, CancellationToken.None);
        return WorkflowYamlReader.Read(run!.Yaml).Workflow!.Input("seed")!.Default;
    }
}
