namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>Editors attached to a server start their own processes (a server, a cluster): they run alone, after the shared browser tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AttachedEditorCollection
{
    public const string Name = "editor attached to a server";
}
