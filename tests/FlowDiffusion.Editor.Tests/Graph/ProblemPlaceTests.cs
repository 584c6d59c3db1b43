using FlowDiffusion.Editor.Graph;
using FlowDiffusion.Engine.Validation;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Tests.Graph;

/// <summary>Validation problems from the real validator, placed on the port or parameter they are about.</summary>
public sealed class ProblemPlaceTests
{
    private static GraphDocument Txt2Img() =>
        new(SdCatalog.Engine.Catalog, WorkflowRoundTripTests.Read(File.ReadAllText(Path.Combine(RepositoryRoot.Workflows, "txt2img.yaml"))));

    private static List<ProblemPlace> Places(GraphDocument document) =>
        WorkflowValidator.Validate(document.Workflow, SdCatalog.Engine.Catalog).Errors.Select(d => ProblemPlace.Of(d, document.Workflow)).ToList();

    [Fact]
    public void A_missing_link_is_placed_on_the_input_port_it_leaves_empty()
    {
        var document = Txt2Img();
        document.Disconnect("sample", "guider");

        Assert.Equal([new ProblemPlace("sample", "guider", null)], Places(document));
        Assert.Equal("sample.guider", Places(document)[0].Label);
    }

    [Fact]
    public void A_link_from_a_missing_output_is_placed_on_the_input_it_feeds()
    {
        var document = Txt2Img();
        var workflow = document.Workflow with
        {
            Nodes = document.Workflow.Nodes.Select(n => n.Id == "decode" ? n with { Inputs = [new NodeEdge("vae", "model", "vea"), n.Inputs.Single(e => e.Port == "latent")] } : n).ToList(),
        };

        var places = WorkflowValidator.Validate(workflow, SdCatalog.Engine.Catalog).Errors.Select(d => ProblemPlace.Of(d, workflow)).ToList();

        Assert.Equal([new ProblemPlace("decode", "vae", null)], places);
    }

    [Fact]
    public void A_parameter_out_of_range_is_placed_on_the_parameter()
    {
        var document = Txt2Img();
        document.SetParameter("sample", "strength", new LiteralValue(3.0));

        Assert.Equal([new ProblemPlace("sample", null, "strength")], Places(document));
    }

    [Fact]
    public void A_problem_that_names_no_port_stays_on_the_node_and_one_without_a_node_on_the_workflow()
    {
        var onNode = ProblemPlace.Of(Diagnostic.Error("duplicate node id", "sample"), Txt2Img().Workflow);
        var onWorkflow = ProblemPlace.Of(Diagnostic.Error("workflow input 'seed' is declared twice"), Txt2Img().Workflow);

        Assert.Equal(new ProblemPlace("sample", null, null), onNode);
        Assert.Equal("sample", onNode.Label);
        Assert.Null(onWorkflow.Label);
    }
}
