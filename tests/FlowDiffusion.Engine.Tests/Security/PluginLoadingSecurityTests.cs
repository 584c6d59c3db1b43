using FlowDiffusion.Engine.Plugins;
using FlowDiffusion.Engine.Tests.Plugins;

namespace FlowDiffusion.Engine.Tests.Security;

/// <summary>Plugin folders an attacker could shape: manifests pointing outside the folder, links planted in the temp folder.</summary>
public sealed class PluginLoadingSecurityTests : IDisposable
{
    private readonly TempFolder _root = new();

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData("../outside/FlowDiffusion.TestNodes.dll")]
    [InlineData("/etc/passwd")]
    [InlineData("sub/../../x.dll")]
    public void A_manifest_assembly_outside_its_folder_is_a_load_error_and_the_rest_load(string assembly)
    {
        var folders = new PluginFolders(_root.Path);
        folders.CopyOfTestPack("good");
        folders.CopyOfTestPack("evil", m => { m["assembly"] = assembly; m["id"] = "evil.pack"; });
        Directory.CreateDirectory(Path.Combine(_root.Path, "outside"));

        using var shadow = new PluginShadowCopy(Path.Combine(_root.Path, "shadow"));
        var set = new PluginHost(shadowCopy: shadow).Load([_root.Path]);

        var error = Assert.Single(set.Errors, e => e.Plugin == "evil.pack");
        Assert.Contains("not a file inside the plugin folder", error.Cause);
        Assert.NotEmpty(set.Catalog.All);
        Assert.DoesNotContain(set.Plugins, p => p.Manifest.Id == "evil.pack");
    }

    [Fact]
    public void A_manifest_that_is_not_an_object_is_a_load_error()
    {
        new PluginFolders(_root.Path).WithManifest("odd", "[1, 2, 3]");

        var set = new PluginHost().Load([_root.Path]);

        Assert.Contains("malformed plugin manifest", Assert.Single(set.Errors).Cause);
    }

    [Fact]
    public void The_shadow_copy_area_is_a_fresh_owner_only_folder_not_a_planted_link()
    {
        if (OperatingSystem.IsWindows()) return;
        // What an attacker on a shared machine would plant: the old fixed name, linked to a folder they control.
        var planted = Path.Combine(Path.GetTempPath(), "flowdiffusion-plugin-shadow");
        var target = Path.Combine(_root.Path, "attacker");
        Directory.CreateDirectory(target);
        var plantedHere = !Path.Exists(planted);
        if (plantedHere) Directory.CreateSymbolicLink(planted, target);
        try
        {
            using var shadow = new PluginShadowCopy();

            var info = new DirectoryInfo(shadow.Root);
            Assert.Null(info.LinkTarget);
            Assert.Equal(Path.GetTempPath().TrimEnd('/'), info.Parent!.FullName.TrimEnd('/'));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(shadow.Root));
            Assert.Empty(Directory.EnumerateFileSystemEntries(target));
        }
        finally
        {
            if (plantedHere) Directory.Delete(planted);
        }
    }
}
