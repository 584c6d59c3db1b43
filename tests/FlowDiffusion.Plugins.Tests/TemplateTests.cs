using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Plugins.Tests;

/// <summary>`dotnet new install plugins/template` then `dotnet new flowdiffusion-plugin -n MyNodes` gives a pack that builds, passes its test and loads.</summary>
public sealed class TemplateTests
{
    [Fact]
    public async Task New_pack_from_the_template_passes_its_test_offline_and_runs_in_the_host()
    {
        var sdk = PackedSdk.Shared;
        var hive = Scratch.NewFolder("template-hive");
        var work = Scratch.NewFolder("template");
        sdk.WriteNuGetConfig(work, offline: true);

        DotnetCli.Run(work, "new", "install", RepositoryRoot.Combine("plugins", "template"), "--debug:custom-hive", hive);
        DotnetCli.Run(work, "new", "flowdiffusion-plugin", "-n", "MyNodes", "--debug:custom-hive", hive);
        var test = DotnetCli.Run(Path.Combine(work, "MyNodes"), "test");

        Assert.Contains("Passed!  - Failed:     0, Passed:     1", test);
        var pack = Path.Combine(work, "MyNodes", "MyNodes", "bin", "Debug", "net10.0");
        Assert.False(File.Exists(Path.Combine(pack, "FlowDiffusion.Sdk.dll")));
        using var host = new TestHost(RepositoryRoot.StableDiffusionPlugin, TestHost.RootWith(("MyNodes", pack)));
        Assert.Empty(host.Engine.Plugins.Errors);
        Assert.Equal("mynodes", host.Engine.Catalog.Find("mynodes.brightness")!.Plugin);

        var result = TestHost.Completed(await host.RunAsync("""
            flowdiffusion: 1
            name: darker
            nodes:
              load: { node: image.load, with: { path: workflows/assets/landscape.png, width: 64, height: 64 } }
              darker: { node: mynodes.brightness, in: { image: load.image }, with: { factor: 0.5 } }
              save: { node: image.save, in: { images: darker.result }, with: { prefix: darker } }
            """));

        var original = Assert.IsType<Image>(result.Output("load", "image")).ToArray();
        var darker = Assert.IsType<Image>(result.Output("darker", "result")).ToArray();
        Assert.Equal(original.Select(v => v * 0.5f), darker, (a, b) => Math.Abs(a - b) < 1e-6f);
    }
}
