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
        Assert.Equal([1L, 8, 8, 8], shape);
        Reference.AssertClose(Reference.Tensor("vae.mean"), (moments[..(4 * 64)], [1, 4, 8, 8]), 1e-4, "mean");
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
