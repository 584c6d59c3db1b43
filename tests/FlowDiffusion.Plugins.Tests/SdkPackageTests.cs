using System.IO.Compression;
using System.Xml.Linq;

namespace FlowDiffusion.Plugins.Tests;

/// <summary>`dotnet pack engine/FlowDiffusion.Sdk -o DIR` gives the package plugins build against.</summary>
public sealed class SdkPackageTests
{
    [Fact]
    public void Pack_writes_a_versioned_sdk_package_with_the_assembly_and_its_doc_comments()
    {
        var sdk = PackedSdk.Shared;

        Assert.True(File.Exists(sdk.Package), $"expected {sdk.Package}; pack printed:\n{sdk.PackOutput}");
        using var package = ZipFile.OpenRead(sdk.Package);
        var entries = package.Entries.Select(e => e.FullName).ToList();
        Assert.Contains("lib/net10.0/FlowDiffusion.Sdk.dll", entries);
        Assert.Contains("lib/net10.0/FlowDiffusion.Sdk.xml", entries);

        using var docs = package.GetEntry("lib/net10.0/FlowDiffusion.Sdk.xml")!.Open();
        var members = XDocument.Load(docs).Descendants("member").ToDictionary(m => (string)m.Attribute("name")!, m => m.Element("summary")?.Value.Trim() ?? "");
        Assert.StartsWith("A node type's behaviour.", members["T:FlowDiffusion.Sdk.INode"]);
        Assert.Contains("T:FlowDiffusion.Sdk.Diffusion.IGuider", members.Keys);
        Assert.Contains("P:FlowDiffusion.Sdk.Diffusion.GuidanceInput.TotalSteps", members.Keys);
    }

    [Fact]
    public void Package_manifest_names_the_sdk_its_version_and_its_one_dependency()
    {
        using var package = ZipFile.OpenRead(PackedSdk.Shared.Package);
        using var nuspec = package.GetEntry("FlowDiffusion.Sdk.nuspec")!.Open();
        var metadata = XDocument.Load(nuspec).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string Field(string name) => metadata.Elements().Single(e => e.Name.LocalName == name).Value;

        Assert.Equal("FlowDiffusion.Sdk", Field("id"));
        Assert.Equal(PackedSdk.Version, Field("version"));
        Assert.StartsWith("The contract a FlowDiffusion node plugin builds against", Field("description"));
        var dependencies = metadata.Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => (string)e.Attribute("id")!).ToList();
        Assert.Equal(["Microsoft.Extensions.Logging.Abstractions"], dependencies);
    }
}
