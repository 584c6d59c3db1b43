using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Server.Runs;

/// <summary>
/// The one event bus of runs, in process and pushed: the executor publishes each event once, and every subscriber of
/// that run (SSE clients, editor tabs, a CLI) gets it from its own bounded queue — nobody polls the database. A
/// subscriber that joins late first gets a <c>run_state</c> message with everything so far (node states, the latest
/// preview per node, outputs, progress), then the live messages; every stream ends with the same <c>run_ended</c>
/// message built from the stored final record.
/// </summary>
public sealed class RunEventBus
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, RunTopic> _topics = new(StringComparer.Ordinal);
    private readonly int _capacity;

    /// <summary>Creates the bus; each subscriber's queue holds at most <paramref name="subscriberCapacity"/> messages.</summary>
    public RunEventBus(int subscriberCapacity = 1024)
    {
        _capacity = Math.Max(16, subscriberCapacity);
    }

    /// <summary>How many subscriptions are open, over all runs.</summary>
    public int Subscribers
    {
        get
        {
            lock (_gate) return _topics.Values.Sum(t => t.Subscribers.Count);
        }
    }

    /// <summary>
    /// Subscribes to run <paramref name="record"/> (as just read from the store). The first message is its state;
    /// a run already final gets its run_ended at once. Call <see cref="Recheck"/> with the store's record read after
    /// this, so a run that ended in between is not missed.
    /// </summary>
    public RunSubscription Subscribe(RunRecord record)
    {
        var subscription = new RunSubscription(this, record.Id, _capacity);
        lock (_gate)
        {
            if (_topics.TryGetValue(record.Id, out var topic) && topic.Started)
            {
                topic.Subscribers.Add(subscription);
                subscription.Queue.TryWrite(topic.StateMessage());
                return subscription;
            }
            subscription.Queue.TryWrite(RunTopic.StateOf(record));
            if (record.Status.IsFinal())
            {
                EndOne(subscription, record);
                return subscription;
            }
            if (topic is null) _topics[record.Id] = topic = new RunTopic(record.Id);
            topic.Subscribers.Add(subscription);
        }
        return subscription;
    }

    /// <summary>Ends <paramref name="subscription"/> with run_ended when the store now says the run is final (or gone).</summary>
    public void Recheck(RunSubscription subscription, RunRecord? record)
    {
        if (record is not null && !record.Status.IsFinal()) return;
        lock (_gate)
        {
            if (subscription.Ended) return;
            if (_topics.TryGetValue(subscription.RunId, out var topic)) topic.Subscribers.Remove(subscription);
            if (record is null) subscription.Queue.TryComplete();
            else EndOne(subscription, record);
        }
    }

    /// <summary>A worker claimed the run: a new attempt starts from an empty state.</summary>
    public void Begin(string runId, int attempt)
    {
        lock (_gate)
        {
            if (!_topics.TryGetValue(runId, out var topic)) _topics[runId] = topic = new RunTopic(runId);
            topic.Start(attempt);
        }
    }

    /// <summary>
    /// Publishes one engine event of a running run to its subscribers. With <paramref name="attempt"/>, only while that
    /// attempt is the one executing: a worker that lost its lease cannot mix its events into the next attempt's stream.
    /// </summary>
    public void Publish(string runId, RunEvent item, int? attempt = null)
    {
        lock (_gate)
        {
            if (_topics.TryGetValue(runId, out var topic) && topic.Started && (attempt is null || attempt == topic.Attempt)) topic.Send(topic.Apply(item));
        }
    }

    /// <summary>Publishes a line of the run's log.</summary>
    public void Log(string runId, string text)
    {
        lock (_gate)
        {
            if (_topics.TryGetValue(runId, out var topic)) topic.Send(topic.LogMessage(text));
        }
    }

    /// <summary>
    /// The run went back to the queue (its owner is stopping, or its lease expired): subscribers stay and see the next
    /// attempt. With <paramref name="attempt"/>, a newer attempt that already began is left as it is (only the reason is logged).
    /// </summary>
    public void Requeued(string runId, string reason, int? attempt = null)
    {
        lock (_gate)
        {
            if (!_topics.TryGetValue(runId, out var topic)) return;
            topic.Send(topic.LogMessage(reason));
            if (attempt is not null && topic.Started && attempt != topic.Attempt) return;
            topic.Requeue();
            if (topic.Subscribers.Count == 0) _topics.Remove(runId);
        }
    }

    /// <summary>The run reached its final record: every subscriber gets run_ended and its stream completes.</summary>
    public void End(RunRecord final)
    {
        lock (_gate)
        {
            if (!_topics.Remove(final.Id, out var topic)) return;
            foreach (var subscription in topic.Subscribers) EndOne(subscription, final);
            topic.Subscribers.Clear();
        }
    }

    internal void Unsubscribe(RunSubscription subscription)
    {
        lock (_gate)
        {
            subscription.Queue.TryComplete();
            if (!_topics.TryGetValue(subscription.RunId, out var topic)) return;
            topic.Subscribers.Remove(subscription);
            // A topic opened only for listeners of a queued run goes when they do.
            if (topic.Subscribers.Count == 0 && !topic.Started) _topics.Remove(subscription.RunId);
        }
    }

    private static void EndOne(RunSubscription subscription, RunRecord final)
    {
        if (subscription.Ended) return;
        subscription.Ended = true;
        subscription.Queue.TryWrite(RunTopic.EndedOf(final));
        subscription.Queue.TryComplete();
    }
}
