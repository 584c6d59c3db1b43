namespace FlowDiffusion.Sdk;

/// <summary>
/// A node type's behaviour. The engine creates a fresh instance for every execution, sets its inputs and
/// parameters, awaits <see cref="ExecuteAsync"/> and reads its outputs, so instances never need locking.
/// Inputs are shared with other nodes and must not be modified: copy before writing.
/// </summary>
public interface INode
{
    /// <summary>Computes the outputs from the inputs and parameters already set on this instance.</summary>
    /// <param name="context">Progress, previews, logging and host services for this execution.</param>
    /// <param name="cancellationToken">Signalled when the run is cancelled; long work must observe it.</param>
    Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken);
}
