using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Server.Tests;

public sealed class RunEventBusTests
{
    private const string Id = "0123456789abcdef0123456789abcdef";
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static RunRecord Record(RunState state, int attempts = 0) =>
        new(Id, state, 0, T0, null, state.IsFinal() ? T0.AddSeconds(5) : null, null, "yaml", "{}",
            state.IsFinal() ? "[{\"node\":\"a\",\"type\":\"t\",\"duration_ms\":12.5,\"cached\":false}]" : null,
            state.IsFinal() ? "[\"out.png\"]" : null, null, null, attempts);

    private static string NodeOf(RunMessage message) => message.Event switch
    {
        NodeStarted e => e.NodeId,
        NodeCached e => e.NodeId,
        NodeFinished e => e.NodeId,
        NodeProgressed e => e.NodeId,
        NodePreviewed e => e.NodeId,
        NodeMetric e => e.NodeId,
        _ => throw new InvalidOperationException($"{message.Kind} names no node"),
    };

    private static List<RunMessage> Drain(RunSubscription subscription)
    {
        var messages = new List<RunMessage>();
        while (subscription.Reader.TryRead(out var message)) messages.Add(message);
        return messages;
    }

    [Fact]
    public void A_subscriber_that_joins_mid_run_gets_the_state_so_far_then_live_events_then_run_ended()
    {
        var bus = new RunEventBus();
        bus.Begin(Id, 1);
        bus.Publish(Id, new RunStarted(Id, T0, ["a", "b"]));
        bus.Publish(Id, new NodeFinished(Id, T0, "a", "t", TimeSpan.FromMilliseconds(12.5)));
        bus.Publish(Id, new NodeStarted(Id, T0, "b", "t"));
        bus.Publish(Id, new NodePreviewed(Id, T0, "b", new Image(1, 2, 2, new float[12])));

        using var late = bus.Subscribe(Record(RunState.Running, 1));
        bus.Publish(Id, new NodeProgressed(Id, T0, "b", new NodeProgress(0.5, null, 1, 2)));
        bus.End(Record(RunState.Completed, 1));

        var messages = Drain(late);
        Assert.Equal(["run_state", "progress", "run_ended"], messages.Select(m => m.Kind));
        var state = messages[0].State!;
        Assert.Equal((RunState.Running, 1, "finished", "running"), (state.Status, state.Attempt, state.Nodes["a"].State, state.Nodes["b"].State));
        Assert.True(state.Previews.ContainsKey("b"));
        Assert.Equal((4L, 0.5), (messages[0].Sequence, messages[0].Progress));
        Assert.Equal(5L, messages[1].Sequence);
        Assert.True(late.Reader.Completion.IsCompleted);
    }

    [Fact]
    public void The_terminal_message_is_the_same_for_a_live_subscriber_and_one_that_joins_after_the_end()
    {
        var bus = new RunEventBus();
        using var live = bus.Subscribe(Record(RunState.Queued));
        bus.Begin(Id, 1);
        bus.Publish(Id, new RunStarted(Id, T0, ["a"]));
        bus.Publish(Id, new NodeFinished(Id, T0, "a", "t", TimeSpan.FromMilliseconds(12.5)));
        bus.End(Record(RunState.Completed, 1));

        using var after = bus.Subscribe(Record(RunState.Completed, 1));

        var liveMessages = Drain(live);
        var afterMessages = Drain(after);
        Assert.Equal(["run_state", "run_started", "node_finished", "run_ended"], liveMessages.Select(m => m.Kind));
        Assert.Equal(["run_state", "run_ended"], afterMessages.Select(m => m.Kind));
        Assert.Equal(liveMessages[^1].Json, afterMessages[^1].Json);
        Assert.Contains("\"status\":\"completed\"", afterMessages[^1].Json, StringComparison.Ordinal);
        Assert.Equal("finished", afterMessages[0].State!.Nodes["a"].State);
    }

    [Fact]
    public void A_run_that_ends_between_the_store_read_and_the_subscription_still_ends_the_stream_once()
    {
        var bus = new RunEventBus();
        bus.Begin(Id, 1);
        bus.End(Record(RunState.Completed, 1));
        // The subscriber read "running" just before the end, subscribed just after it: the re-read ends it.
        using var subscription = bus.Subscribe(Record(RunState.Running, 1));

        bus.Recheck(subscription, Record(RunState.Completed, 1));
        bus.Recheck(subscription, Record(RunState.Completed, 1));

        Assert.Equal(["run_state", "run_ended"], Drain(subscription).Select(m => m.Kind));
        Assert.Equal(0, bus.Subscribers);
    }

    [Fact]
    public void A_slow_subscriber_holds_a_bounded_queue_and_still_gets_the_terminal_message()
    {
        var bus = new RunEventBus(subscriberCapacity: 16);
        using var slow = bus.Subscribe(Record(RunState.Queued));
        using var other = bus.Subscribe(Record(RunState.Queued));
        bus.Begin(Id, 1);
        bus.Publish(Id, new RunStarted(Id, T0, ["a"]));
        for (var step = 1; step <= 5000; step++) bus.Publish(Id, new NodeProgressed(Id, T0, "a", new NodeProgress(step / 5000.0, null, step, 5000)));
        bus.End(Record(RunState.Completed, 1));

        var messages = Drain(slow);
        Assert.Equal(16, messages.Count);
        Assert.Equal("run_ended", messages[^1].Kind);
        Assert.Equal(5002 + 1 - 16, slow.Dropped);
        // One event, one message object: subscribers share it (and its JSON).
        Assert.Same(messages[^2], Drain(other)[^2]);
    }

    [Fact]
    public void A_slow_subscriber_sheds_progress_and_previews_first_so_node_events_and_the_terminal_message_survive()
    {
        var bus = new RunEventBus(subscriberCapacity: 16);
        using var slow = bus.Subscribe(Record(RunState.Queued));
        bus.Begin(Id, 1);
        var nodes = Enumerable.Range(0, 4).Select(i => $"n{i}").ToArray();
        bus.Publish(Id, new RunStarted(Id, T0, nodes));
        // Four nodes, each 500 steps with a preview every step, interleaved with its node events: 4,000+ sheddable
        // messages against a 16-message queue that nobody reads until the end.
        foreach (var node in nodes)
        {
            bus.Publish(Id, new NodeStarted(Id, T0, node, "t"));
            for (var step = 1; step <= 500; step++)
            {
                bus.Publish(Id, new NodeProgressed(Id, T0, node, new NodeProgress(step / 500.0, null, step, 500)));
                bus.Publish(Id, new NodePreviewed(Id, T0, node, new Image(1, 2, 2, new float[12])));
                bus.Publish(Id, new NodeMetric(Id, T0, node, "onnx_run_seconds", 0.01));
            }
            bus.Publish(Id, new NodeFinished(Id, T0, node, "t", TimeSpan.FromMilliseconds(5)));
        }
        bus.End(Record(RunState.Completed, 1));

        var messages = Drain(slow);
        Assert.Equal(16, messages.Count);
        var kept = messages.Where(m => !RunMessageQueue.IsSheddable(m.Kind)).Select(m => m.Kind is "run_state" or "run_started" or "run_ended" ? m.Kind : $"{m.Kind}:{NodeOf(m)}");
        Assert.Equal(["run_state", "run_started", "node_started:n0", "node_finished:n0", "node_started:n1", "node_finished:n1",
            "node_started:n2", "node_finished:n2", "node_started:n3", "node_finished:n3", "run_ended"], kept);
        // What is left of the sheddable kind is the newest of it, in order, just before run_ended.
        var shed = messages.Where(m => RunMessageQueue.IsSheddable(m.Kind)).ToList();
        Assert.Equal(5, shed.Count);
        Assert.All(shed, m => Assert.Equal("n3", NodeOf(m)));
        Assert.Equal(messages.Select(m => m.Sequence).Where(s => s > 0).Order(), messages.Select(m => m.Sequence).Where(s => s > 0));
        Assert.Equal(4 * 1500 - 5, slow.Dropped);
    }

    [Fact]
    public void A_queue_full_of_node_events_loses_its_oldest_and_a_new_progress_message_yields()
    {
        var bus = new RunEventBus(subscriberCapacity: 16);
        using var slow = bus.Subscribe(Record(RunState.Queued));
        bus.Begin(Id, 1);
        var nodes = Enumerable.Range(0, 40).Select(i => $"n{i}").ToArray();
        bus.Publish(Id, new RunStarted(Id, T0, nodes));
        foreach (var node in nodes) bus.Publish(Id, new NodeCached(Id, T0, node, "t"));
        bus.Publish(Id, new NodeProgressed(Id, T0, "n39", new NodeProgress(0.5, null, 1, 2)));
        bus.End(Record(RunState.Completed, 1));

        var messages = Drain(slow);
        Assert.Equal(16, messages.Count);
        Assert.Equal("run_ended", messages[^1].Kind);
        Assert.DoesNotContain(messages, m => m.Kind == "progress");
        Assert.Equal(nodes[^15..], messages[..^1].Select(m => NodeOf(m)));
        Assert.Equal(1 + 1 + 40 + 1 + 1 - 16, slow.Dropped);
    }

    [Fact]
    public void Leaving_a_queued_run_removes_its_topic()
    {
        var bus = new RunEventBus();
        var subscription = bus.Subscribe(Record(RunState.Queued));
        Assert.Equal(1, bus.Subscribers);

        subscription.Dispose();

        Assert.Equal(0, bus.Subscribers);
        Assert.Equal(["run_state"], Drain(subscription).Select(m => m.Kind));
        Assert.True(subscription.Reader.Completion.IsCompleted);
    }
}
