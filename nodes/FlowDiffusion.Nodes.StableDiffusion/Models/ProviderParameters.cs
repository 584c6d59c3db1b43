using FlowDiffusion.Diffusion.Onnx;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>The session options a loader node's <c>provider</c> and <c>provider_options</c> parameters describe.</summary>
internal static class ProviderParameters
{
    /// <summary>Parses them; a malformed option list is an error naming <c>provider_options</c>.</summary>
    public static OnnxSessionOptions Parse(string provider, string providerOptions)
    {
        try
        {
            return OnnxSessionOptions.Parse(provider, providerOptions);
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"provider_options: {e.Message}", e);
        }
    }
}
