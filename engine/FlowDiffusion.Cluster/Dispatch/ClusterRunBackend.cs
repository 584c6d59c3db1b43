using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Server.Runs;
using Microsoft.Extensions.Logging;

namespace FlowDiffusion.Cluster.Dispatch;

/// <summary>
/// <see cref="IRunBackend"/> of a server that coordinates a cluster (<c>flowdiffusion serve --cluster</c>): clients
/// submit, list, watch and cancel runs exactly as with the embedded backend (same store, event bus and output store, so
/// history, SSE and the editor see remote runs like local ones), but runs execute on workers that claim them from the
/// dispatcher grain (<see cref="IDispatchGrain"/>), which publishes their events to the same bus. A cancel sets the
/// store's flag, which the worker learns at its next heartbeat (<see cref="Hosting.ScaleOutOptions.HeartbeatSeconds"/>).
/// </summary>
public sealed class ClusterRunBackend(EmbeddedRunBackend local, IGrainFactory grains, ILogger<ClusterRunBackend> logger) : IRunBackend
{
    private const string WorkerVerbs = "in a cluster, workers claim runs from the dispatcher grain (flowdiffusion worker --cluster), not through the server's backend";

    private IDispatchGrain Dispatcher => grains.GetGrain<IDispatchGrain>(0);

    /// <inheritdoc />
    public IOutputStore Outputs => local.Outputs;

    /// <inheritdoc />
    public async Task<(RunRecord Run, bool Created)> SubmitAsync(RunSubmission submission, CancellationToken cancellationToken)
    {
        var added = await local.SubmitAsync(submission, cancellationToken);
        await WakeAsync();
        return added;
    }

    /// <inheritdoc />
    public async Task<(RunRecord Run, bool Created, IAsyncEnumerable<RunMessage> Messages)> SubmitSubscribedAsync(RunSubmission submission, CancellationToken cancellationToken)
    {
        // Subscribed on the local bus (where SubscribeAsync reads too) before the dispatcher is woken.
        var added = await local.SubmitSubscribedAsync(submission, cancellationToken);
        await WakeAsync();
        return added;
    }

    private async Task WakeAsync()
    {
        try
        {
            await Dispatcher.WakeAsync();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The run is stored; the dispatcher finds it at its next sweep.
            logger.LogWarning("The dispatcher could not be woken: {Error}", e.Message);
        }
    }

    /// <summary>Why a queued run still waits ("no worker has models/x"), or null when it is not queued.</summary>
    public Task<string?> WhyWaitingAsync(string id) => Dispatcher.WhyWaitingAsync(id);

    /// <inheritdoc />
    public Task<RunRecord?> GetAsync(string id, CancellationToken cancellationToken) => local.GetAsync(id, cancellationToken);

    /// <inheritdoc />
    public Task<RunPage> ListAsync(RunState? status, int offset, int limit, CancellationToken cancellationToken) => local.ListAsync(status, offset, limit, cancellationToken);

    /// <inheritdoc />
    public Task<CancelOutcome> CancelAsync(string id, CancellationToken cancellationToken) => local.CancelAsync(id, cancellationToken);

    /// <inheritdoc />
    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) => local.DeleteAsync(id, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<RunMessage> SubscribeAsync(string id, CancellationToken cancellationToken) => local.SubscribeAsync(id, cancellationToken);

    /// <inheritdoc />
    public Task CheckAsync(CancellationToken cancellationToken) => local.CheckAsync(cancellationToken);

    /// <inheritdoc />
    public Task<RunRecord?> ClaimAsync(string owner, CancellationToken cancellationToken) => throw new NotSupportedException(WorkerVerbs);

    /// <inheritdoc />
    public Task<LeaseRenewal> HeartbeatAsync(RunLease lease, CancellationToken cancellationToken) => throw new NotSupportedException(WorkerVerbs);

    /// <inheritdoc />
    public void Publish(RunLease lease, RunEvent item) => throw new NotSupportedException(WorkerVerbs);

    /// <inheritdoc />
    public void Log(RunLease lease, string text) => throw new NotSupportedException(WorkerVerbs);

    /// <inheritdoc />
    public Task<bool> CompleteAsync(RunLease lease, RunFinish finish, CancellationToken cancellationToken) => throw new NotSupportedException(WorkerVerbs);

    /// <inheritdoc />
    public Task<bool> ReleaseAsync(RunLease lease, string reason, CancellationToken cancellationToken) => throw new NotSupportedException(WorkerVerbs);
}
