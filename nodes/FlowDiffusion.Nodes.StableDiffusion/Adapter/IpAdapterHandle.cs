using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Adapter;

/// <summary>A loaded IP-Adapter graph, as the SDK's handle.</summary>
internal sealed class IpAdapterHandle(string name, IpAdapterModel model) : IIpAdapter
{
    public string Name => name;

    public IpAdapterModel Model => model;

    public override string ToString() => name;
}
