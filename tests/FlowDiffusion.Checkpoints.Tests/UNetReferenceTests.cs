namespace FlowDiffusion.Checkpoints.Tests;

public sealed class UNetReferenceTests
{
    public static TheoryData<string> Layouts => new() { "ldm", "diffusers" };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void UNet_noise_prediction_matches_torch(string layout)
    {
        using var checkpoint = Sd1Checkpoint.Open(layout == "ldm" ? Reference.LdmFile : Reference.DiffusersFolder);
        var outputs = Reference.Run(
            checkpoint.BuildUNet().ToBytes(),
            ("sample", Reference.Floats(Reference.Tensor("unet.sample"))),
            ("timestep", Reference.Floats(Reference.Tensor("unet.timestep"))),
            ("encoder_hidden_states", Reference.Floats(Reference.Tensor("unet.encoder_hidden_states"))));
        Reference.AssertClose(Reference.Tensor("unet.out_sample"), outputs["out_sample"], 1e-4, "out_sample");
    }
}
