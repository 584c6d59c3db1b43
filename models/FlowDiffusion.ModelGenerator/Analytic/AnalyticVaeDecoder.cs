using FlowDiffusion.ModelGenerator.Graph;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.ModelGenerator.Analytic;

/// <summary>A VAE decoder that maps each latent pixel through pinv(M) = Mᵀ and repeats it over an 8×8 block.</summary>
internal static class AnalyticVaeDecoder
{
    public static OnnxModel Build()
    {
        var g = new GraphBuilder("analytic_vae_decoder");
        var latent = g.Input("latent_sample", TensorElementType.Float, "batch", 4, "latent_height", "latent_width");
        var rgb = g.Conv(latent, g.Weight("latent_basis_pinv", LatentBasis.DecoderWeight(), 3, 4, 1, 1), g.Weight("rgb_bias", new float[3], 3), 1);
        g.Output(g.UpsampleNearest(rgb, 8f), "sample", TensorElementType.Float, "batch", 3, "height", "width");
        return g.Build("Analytic VAE decoder: rgb = pinv(M) * latent per pixel, then 8x nearest-neighbour upsampling.");
    }
}
