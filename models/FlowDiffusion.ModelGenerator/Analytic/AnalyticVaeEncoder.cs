using FlowDiffusion.ModelGenerator.Graph;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.ModelGenerator.Analytic;

/// <summary>A VAE encoder that averages 8×8 blocks and maps each pixel's RGB through M.</summary>
internal static class AnalyticVaeEncoder
{
    /// <summary>log σ² of the parameters output: e^-15 ≈ 3e-7 standard deviation, so sampling returns the mean.</summary>
    private const float LogVariance = -30f;

    public static OnnxModel Build(VaeEncoderOutput output)
    {
        var g = new GraphBuilder("analytic_vae_encoder");
        var image = g.Input("sample", TensorElementType.Float, "batch", 3, "height", "width");
        var pooled = g.AveragePool(image, 8);
        var mean = g.Conv(pooled, g.Weight("latent_basis", LatentBasis.EncoderWeight(), 4, 3, 1, 1), g.Weight("latent_bias", new float[4], 4), 1);
        if (output == VaeEncoderOutput.LatentSample)
        {
            g.Output(mean, "latent_sample", TensorElementType.Float, "batch", 4, "latent_height", "latent_width");
        }
        else
        {
            var logVariance = g.Add(g.Mul(mean, g.Scalar(0f)), g.Scalar(LogVariance));
            g.Output(g.Concat(1, mean, logVariance), "latent_parameters", TensorElementType.Float, "batch", 8, "latent_height", "latent_width");
        }

        return g.Build("Analytic VAE encoder: 8x8 average pool, then latent = M * rgb per pixel.");
    }
}
