using FlowDiffusion.Engine.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Editor.Tests;

/// <summary>One engine with the Stable Diffusion pack loaded from plugins/, as the editor host loads it.</summary>
internal static class SdCatalog
{
    private static readonly Lazy<FlowDiffusionEngine> Shared = new(() =>
        new FlowDiffusionEngine(Options.Create(new FlowDiffusionOptions { PluginFolders = [RepositoryRoot.Plugins] }), new ServiceCollection().BuildServiceProvider()));

    public static FlowDiffusionEngine Engine => Shared.Value;
}
