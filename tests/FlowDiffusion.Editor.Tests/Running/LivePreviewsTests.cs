using FlowDiffusion.Editor.Graph;
using FlowDiffusion.Editor.Running;
using FlowDiffusion.Editor.Tests.Graph;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Tests.Running;

/// <summary>The editor's queued copy asks samplers for a preview every step; the saved workflow is left alone.</summary>
public sealed class LivePreviewsTests
{
    private static Workflow Txt2Img() => WorkflowRoundTripTests.Read(File.ReadAllText(Path.Combine(RepositoryRoot.Workflows, "txt2img.yaml")));

    [Fact]
    public void The_sampler_gets_a_preview_every_step_and_no_other_node_changes()
    {
        var workflow = Txt2Img();

        var queued = LivePreviews.Requested(workflow, SdCatalog.Engine.Catalog);

        Assert.Equal(new LiteralValue(1L), queued.Node("sample")!.Parameter(LivePreviews.Parameter)!.Value);
        Assert.Equal(workflow.Nodes.Where(n => n.Id != "sample"), queued.Nodes.Where(n => n.Id != "sample"));
        Assert.Null(workflow.Node("sample")!.Parameter(LivePreviews.Parameter));
        Assert.DoesNotContain(LivePreviews.Parameter, new GraphDocument(SdCatalog.Engine.Catalog, workflow).ToYaml());
    }

    [Fact]
    public void A_preview_interval_the_workflow_sets_is_kept()
    {
        var workflow = Txt2Img();
        workflow = workflow with
        {
            Nodes = workflow.Nodes.Select(n => n.Id == "sample" ? n with { Parameters = [new NodeParameter(LivePreviews.Parameter, new LiteralValue(5L))] } : n).ToList(),
        };

        var queued = LivePreviews.Requested(workflow, SdCatalog.Engine.Catalog);

        Assert.Equal(new LiteralValue(5L), queued.Node("sample")!.Parameter(LivePreviews.Parameter)!.Value);
    }
}
