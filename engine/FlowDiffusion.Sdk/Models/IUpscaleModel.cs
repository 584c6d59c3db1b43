namespace FlowDiffusion.Sdk.Models;

/// <summary>
/// A loaded image upscale model (ESRGAN, Real-ESRGAN, 4x-UltraSharp …): a network that turns an image into one a whole
/// number of times larger. The pack that loads it also runs it, so this handle only names the model.
/// </summary>
[PortType("UPSCALE_MODEL", "#b0a4ff")]
public interface IUpscaleModel
{
    /// <summary>A display name (the file's name).</summary>
    string Name { get; }
}
