using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Server.Tests;

/// <summary>Shorthands for tests that play one worker of the store.</summary>
internal static class RunStoreTestExtensions
{
    public const string Owner = "test-worker";

    /// <summary>Claims the next run as <see cref="Owner"/> with a lease long enough not to lapse during a test.</summary>
    public static Task<RunRecord?> ClaimNextAsync(this IRunStore store, CancellationToken cancellationToken) =>
        store.ClaimNextAsync(Owner, TimeSpan.FromMinutes(10), cancellationToken);
}
