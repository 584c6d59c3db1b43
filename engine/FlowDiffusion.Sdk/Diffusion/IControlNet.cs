namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>
/// A loaded ControlNet: a network that turns a control image (edges, depth, pose …) into residuals added to a UNet's
/// skip connections. The pack that loads it also applies it (it adds the control to a conditioning, and its UNet reads
/// it), so this handle only names the model.
/// </summary>
[PortType("CONTROL_NET", "#00d78d")]
public interface IControlNet
{
    /// <summary>A display name (the file's name).</summary>
    string Name { get; }
}
