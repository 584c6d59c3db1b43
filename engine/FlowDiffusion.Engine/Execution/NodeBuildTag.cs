using System.Runtime.CompilerServices;

namespace FlowDiffusion.Engine.Execution;

/// <summary>
/// A tag per loaded node class, so cache keys tell plugin builds apart: a rebuilt plugin folder loads into a new load
/// context with new types, and a rebuilt node that kept its version must not be served the old build's outputs (which a
/// run in flight on the old build may store after the reload). An unchanged folder keeps its types and its cache entries.
/// </summary>
internal static class NodeBuildTag
{
    private static readonly ConditionalWeakTable<Type, string> Tags = new();

    public static string Of(Type nodeType) => Tags.GetValue(nodeType, static _ => Guid.NewGuid().ToString("N"));
}
