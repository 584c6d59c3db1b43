using FlowDiffusion.ModelGenerator.Files;
using FlowDiffusion.ModelGenerator.Graph;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.ModelGenerator.Analytic;

/// <summary>
/// A UNet that predicts exactly the noise separating <c>sample</c> from the latent of a solid image of the prompt's colour:
/// ε = (sample·√(1+σ²) − x0)/σ, which equals (sample − √ᾱ·x0)/√(1−ᾱ) with ᾱ = 1/(1+σ²).
/// </summary>
internal static class AnalyticUNet
{
    public static OnnxModel Build(AnalyticVariant variant)
    {
        var g = new GraphBuilder("analytic_unet");
        var floatType = variant.Float16UNet ? TensorElementType.Float16 : TensorElementType.Float;
        var channels = variant.Inpainting ? 9 : 4;
        var sample = ToFloat(g, g.Input("sample", floatType, "batch", channels, "height", "width"), floatType);
        var t = Timestep(g, variant.Timestep);
        var context = ToFloat(g, g.Input("encoder_hidden_states", floatType, "batch", "sequence", AnalyticTextEncoder.Width), floatType);

        var colourLatent = g.Unsqueeze(ColourLatent(g, context), 2, 3);
        var latents = sample;
        var x0 = colourLatent;
        if (variant.Inpainting)
        {
            latents = g.Slice(sample, [0], [4], [1]);
            var mask = g.Slice(sample, [4], [5], [1]);
            var maskedImage = g.Slice(sample, [5], [9], [1]);
            x0 = g.Add(g.Mul(mask, colourLatent), g.Mul(g.Sub(g.Scalar(1f), mask), maskedImage));
        }

        var sigma = g.Reshape(Sigma(g, t), -1, 1, 1, 1);
        var inputScale = g.Sqrt(g.Add(g.Scalar(1f), g.Mul(sigma, sigma)));
        var epsilon = g.Div(g.Sub(g.Mul(latents, inputScale), x0), sigma);
        if (variant.Float16UNet)
        {
            epsilon = g.Cast(epsilon, TensorElementType.Float16);
        }

        g.Output(epsilon, "out_sample", floatType, "batch", 4, "height", "width");
        return g.Build("Analytic UNet: predicts the exact noise towards the latent of a solid image of the prompt's colour.");
    }

    /// <summary>0.18215 · M · (2c − 1), c the mean colour of the colour tokens or gray without any: [batch, 4].</summary>
    private static string ColourLatent(GraphBuilder g, string context)
    {
        var sums = g.ReduceSum(context, [1], keepDims: false);
        var rgb = g.Slice(sums, [0], [3], [1]);
        var count = g.Slice(sums, [3], [4], [1]);
        var mean = g.Div(rgb, g.Max(count, g.Scalar(1f)));
        var none = g.Cast(g.Node("Equal", [count, g.Scalar(0f)]), TensorElementType.Float);
        var colour = g.Add(mean, g.Mul(none, g.Scalar(ColourWords.None.R)));
        var signed = g.Sub(g.Mul(colour, g.Scalar(2f)), g.Scalar(1f));
        var latent = g.MatMul(signed, g.Weight("latent_basis", LatentBasis.RowVectorMap(), 3, 4));
        return g.Mul(latent, g.Scalar(DiffusersLayout.VaeScalingFactor));
    }

    /// <summary>σ at a possibly fractional timestep: the training table linearly interpolated, as diffusers' Euler/LMS do.</summary>
    private static string Sigma(GraphBuilder g, string t)
    {
        var clamped = g.Node("Clip", [t, g.Scalar(0f), g.Scalar(TrainingSigmas.Count - 1)]);
        var lower = g.Floor(clamped);
        var upper = g.Min(g.Add(lower, g.Scalar(1f)), g.Scalar(TrainingSigmas.Count - 1));
        var fraction = g.Sub(clamped, lower);
        var table = g.Weight("training_sigmas", TrainingSigmas.Compute(), TrainingSigmas.Count);
        var sigmaLower = g.Gather(table, g.Cast(lower, TensorElementType.Int64));
        var sigmaUpper = g.Gather(table, g.Cast(upper, TensorElementType.Int64));
        return g.Add(sigmaLower, g.Mul(fraction, g.Sub(sigmaUpper, sigmaLower)));
    }

    private static string Timestep(GraphBuilder g, TimestepInput kind) => kind switch
    {
        TimestepInput.Int64Vector => g.Cast(g.Input("timestep", TensorElementType.Int64, "batch"), TensorElementType.Float),
        TimestepInput.Float32Vector => g.Input("timestep", TensorElementType.Float, "batch"),
        TimestepInput.Float16Vector => g.Cast(g.Input("timestep", TensorElementType.Float16, "batch"), TensorElementType.Float),
        TimestepInput.Float32Scalar => g.Input("timestep", TensorElementType.Float),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    private static string ToFloat(GraphBuilder g, string value, TensorElementType declared) =>
        declared == TensorElementType.Float ? value : g.Cast(value, TensorElementType.Float);
}
