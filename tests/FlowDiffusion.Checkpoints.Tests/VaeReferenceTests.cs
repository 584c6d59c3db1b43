namespace FlowDiffusion.Checkpoints.Tests;

public sealed class VaeReferenceTests
{
    public static TheoryData<string> Layouts => new() { "ldm", "diffusers" };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Vae_encoder_mean_matches_torch(string layout)
    {
        using var checkpoint = Sd1Checkpoint.Open(layout == "ldm" ? Reference.LdmFile : Reference.DiffusersFolder);
        var outputs = Reference.Run(checkpoint.BuildVaeEncoder().ToBytes(), ("sample", Reference.Floats(Reference.Tensor("vae.image"))));
        var (moments, shape) = outputs["latent_parameters"];
        Assert.Equal([1L, 8, 4, 4], shape);
        Reference.AssertClose(Reference.Tensor("vae.mean"), (moments[..(4 * 16)], [1, 4, 4, 4]), 1e-4, "mean");
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Vae_decoder_matches_torch(string layout)
    {
        using var checkpoint = Sd1Checkpoint.Open(layout == "ldm" ? Reference.LdmFile : Reference.DiffusersFolder);
        var outputs = Reference.Run(checkpoint.BuildVaeDecoder().ToBytes(), ("latent_sample", Reference.Floats(Reference.Tensor("vae.latent_sample"))));
        Reference.AssertClose(Reference.Tensor("vae.decoded"), outputs["sample"], 1e-4, "decoded");
    }
}
