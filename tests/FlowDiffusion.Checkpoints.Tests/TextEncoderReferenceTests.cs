using FlowDiffusion.Checkpoints.Graphs;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

public sealed class TextEncoderReferenceTests
{
    public static TheoryData<string> Layouts => new() { "ldm", "diffusers" };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Text_encoder_built_from_the_checkpoint_matches_torch_last_penultimate_and_pooled(string layout)
    {
        // The reference tower has 2 heads at width 64; CLIP-L's convention would say 1, so the test states it.
        using var checkpoint = Sd1Checkpoint.Open(layout == "ldm" ? Reference.LdmFile : Reference.DiffusersFolder, textEncoderHeads: 2);
        var ids = Reference.InputIds();
        var outputs = Reference.Run(checkpoint.BuildTextEncoder().ToBytes(), ("input_ids", OrtValue.CreateTensorValueFromMemory(ids, [2, 77])));
        Reference.AssertClose(Reference.Tensor("text_encoder.last_hidden_state"), outputs["last_hidden_state"], 1e-4, "last_hidden_state");
        Reference.AssertClose(Reference.Tensor("text_encoder.penultimate_hidden_state"), outputs[TextEncoderGraph.PenultimateOutput], 1e-4, "penultimate");
        Reference.AssertClose(Reference.Tensor("text_encoder.pooled"), outputs["pooler_output"], 1e-4, "pooled");
    }
}
