namespace FlowDiffusion.Comfy.Api;

/// <summary>The last sampling progress a prompt's run reported, as ComfyUI's <c>progress</c> message carries it.</summary>
/// <param name="Node">The ComfyUI node that reported it.</param>
/// <param name="Step">The step done (1-based).</param>
/// <param name="Total">The node's steps.</param>
public sealed record ComfyProgress(string Node, int Step, int Total);
