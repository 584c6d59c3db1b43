using FlowDiffusion.Sdk;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Resolves a path parameter through the host, which keeps it inside the folders it reads inputs from.</summary>
internal static class PathResolver
{
    public static string Resolve(INodeContext context, string path, string parameter = "path") => context.ResolveInputPath(parameter, path);
}
