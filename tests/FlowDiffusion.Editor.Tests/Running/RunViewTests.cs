using FlowDiffusion.Editor.Running;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Editor.Tests.Running;

public sealed class RunViewTests
{
    private const string Id = "0123456789abcdef0123456789abcdef";
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static RunRecord Record(RunState state) =>
        new(Id, state, 0, T0, T0, state.IsFinal() ? T0.AddSeconds(3) : null, null, "yaml", "{}",
            state.IsFinal() ? "[{\"node\":\"model\",\"type\":\"t\",\"duration_ms\":1,\"cached\":true},{\"node\":\"sample\",\"type\":\"t\",\"duration_ms\":9,\"cached\":false}]" : null,
            state.IsFinal() ? "[]" : null, null, null, 1);

    [Fact]
    public void A_tab_that_starts_following_mid_run_shows_node_states_step_and_preview_from_the_first_message()
    {
        var bus = new RunEventBus();
        bus.Begin(Id, 1);
        bus.Publish(Id, new RunStarted(Id, T0, ["model", "sample", "decode"]));
        bus.Publish(Id, new NodeCached(Id, T0, "model", "t"));
        bus.Publish(Id, new NodeStarted(Id, T0, "sample", "t"));
        bus.Publish(Id, new NodeProgressed(Id, T0, "sample", new NodeProgress(0.3, null, 3, 10)));
        bus.Publish(Id, new NodePreviewed(Id, T0, "sample", new Image(1, 4, 4, new float[48])));
        using var subscription = bus.Subscribe(Record(RunState.Running));
        var view = new RunView(Id, ["model", "sample", "decode"]);

        Assert.True(subscription.Reader.TryRead(out var state));
        view.Apply(state!, _ => null);

        Assert.Equal("running", view.Status);
        Assert.Equal((NodeRunState.Cached, NodeRunState.Running, NodeRunState.Queued), (view.States["model"], view.States["sample"], view.States["decode"]));
        Assert.Equal((3, 10), (view.Progress["sample"].Step, view.Progress["sample"].Total));
        Assert.StartsWith("data:image/bmp;base64,", view.Previews["sample"], StringComparison.Ordinal);
        Assert.Equal(state!.Progress, view.Overall);
        Assert.True(view.Overall > 1.0 / 3);
    }

    [Fact]
    public void Run_ended_finishes_the_view_from_the_stored_record()
    {
        var bus = new RunEventBus();
        using var subscription = bus.Subscribe(Record(RunState.Completed));
        var view = new RunView(Id, ["model", "sample"]);

        while (subscription.Reader.TryRead(out var message)) view.Apply(message, _ => null);

        Assert.Equal(("done", 1.0), (view.Status, view.Overall));
        Assert.Equal((NodeRunState.Cached, NodeRunState.Done), (view.States["model"], view.States["sample"]));
    }
}
