namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>Browser tests share one editor process and one Chromium.</summary>
[CollectionDefinition(Name)]
public sealed class EditorBrowserCollection : ICollectionFixture<EditorServer>
{
    public const string Name = "editor in Chromium";
}
