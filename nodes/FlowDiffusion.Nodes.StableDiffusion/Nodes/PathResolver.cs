using FlowDiffusion.Sdk;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Resolves a path parameter against the run's working folder.</summary>
internal static class PathResolver
{
    public static string Resolve(INodeContext context, string path) =>
        Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(context.WorkingDirectory, path));
}
