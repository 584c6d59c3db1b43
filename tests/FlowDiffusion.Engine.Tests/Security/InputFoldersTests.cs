using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Engine.Tests.Security;

/// <summary>Input folder containment: relative, absolute, dot-dot and linked paths, compared after links are followed.</summary>
public sealed class InputFoldersTests : IDisposable
{
    private readonly TempFolder _root = new();

    public InputFoldersTests()
    {
        Directory.CreateDirectory(Path.Combine(_root.Path, "work", "assets", "sub"));
        Directory.CreateDirectory(Path.Combine(_root.Path, "outside"));
        File.WriteAllText(Path.Combine(_root.Path, "work", "assets", "in.png"), "x");
        File.WriteAllText(Path.Combine(_root.Path, "outside", "secret.png"), "x");
    }

    public void Dispose() => _root.Dispose();

    private string Work => Path.Combine(_root.Path, "work");

    private InputFolders Folders => new(["assets"], Work);

    [Theory]
    [InlineData("assets/in.png")]
    [InlineData("assets/sub/../in.png")]
    [InlineData("assets/not-yet-there.png")]
    public void Paths_inside_an_input_folder_resolve_to_their_real_location(string path)
    {
        var resolved = Folders.Resolve("path", path, Work);

        Assert.Equal(Path.GetFullPath(path, Work), resolved);
    }

    [Theory]
    [InlineData("../outside/secret.png")]
    [InlineData("assets/../../outside/secret.png")]
    [InlineData("assets/../assets-sibling/x.png")]
    [InlineData("/etc/passwd")]
    public void Paths_outside_are_refused_naming_the_parameter(string path)
    {
        var e = Assert.Throws<UnauthorizedAccessException>(() => Folders.Resolve("image", path, Work));

        Assert.StartsWith("parameter 'image':", e.Message);
        Assert.Contains("FlowDiffusion:InputFolders", e.Message);
    }

    [Fact]
    public void Links_are_followed_before_the_check()
    {
        if (OperatingSystem.IsWindows()) return;
        var assets = Path.Combine(Work, "assets");
        File.CreateSymbolicLink(Path.Combine(assets, "out.png"), Path.Combine(_root.Path, "outside", "secret.png"));
        Directory.CreateSymbolicLink(Path.Combine(assets, "outdir"), "../../outside");
        File.CreateSymbolicLink(Path.Combine(assets, "alias.png"), "sub/../in.png");

        Assert.Throws<UnauthorizedAccessException>(() => Folders.Resolve("path", "assets/out.png", Work));
        Assert.Throws<UnauthorizedAccessException>(() => Folders.Resolve("path", "assets/outdir/secret.png", Work));
        Assert.Equal(Path.Combine(assets, "in.png"), Folders.Resolve("path", "assets/alias.png", Work));
    }

    [Fact]
    public void An_input_folder_that_is_itself_a_link_admits_its_target()
    {
        if (OperatingSystem.IsWindows()) return;
        Directory.CreateSymbolicLink(Path.Combine(Work, "linked"), Path.Combine(_root.Path, "outside"));
        var folders = new InputFolders(["linked"], Work);

        Assert.Equal(Path.Combine(_root.Path, "outside", "secret.png"), folders.Resolve("path", "linked/secret.png", Work));
    }
}
