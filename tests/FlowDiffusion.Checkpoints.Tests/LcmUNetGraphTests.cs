using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.IpAdapter;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// An LCM-distilled checkpoint (one with <c>time_embedding.cond_proj</c>) converts to graphs that take
/// <c>timestep_cond</c>, the plain one and the one that takes ControlNet residuals. Closed form: diffusers adds
/// cond_proj(timestep_cond) to the timestep's sinusoid before the time embedding, so with a cond_proj whose column k is
/// sinusoid(t₂) − sinusoid(t₁) and timestep_cond the unit vector e_k, the LCM graph at t₁ computes what the same UNet
/// without cond_proj computes at t₂. The IP-adapted graph takes it beside the image prompt (torch: the adapted UNet at t₂).
/// </summary>
public sealed class LcmUNetGraphTests : IDisposable
{
    private const int CondWidth = 6;
    private const int Column = 2;
    private const float T1 = 250f;
    private const float T2 = 700f;

    private readonly string _scratch = Directory.CreateTempSubdirectory("fd-lcm-unet-").FullName;

    [Fact]
    public void Lcm_checkpoint_graph_at_t1_with_a_unit_cond_equals_the_plain_graph_at_t2()
    {
        using var plain = Sd1Checkpoint.Open(Reference.DiffusersFolder);
        using var lcm = Sd1Checkpoint.Open(LcmFolder(plain.UNet!.ModelChannels));

        Assert.Equal(CondWidth, lcm.UNet!.TimeCondWidth);
        Assert.Equal(0, plain.UNet.TimeCondWidth);
        var batch = (int)Reference.Tensor("unet.sample").Shape[0];
        var atT1 = RunUNet(plain.BuildUNet().ToBytes(), T1, null);
        var atT2 = RunUNet(plain.BuildUNet().ToBytes(), T2, null);
        var lcmAtT1 = RunUNet(lcm.BuildUNet().ToBytes(), T1, UnitCond(batch));

        Assert.True(Reference.MaxDifference(atT1.Values, atT2.Values) > 0.05, "the two timesteps must give different predictions");
        Reference.AssertClose(atT2, lcmAtT1, 1e-4, "LCM out_sample at t1 with e_k");
    }

    [Fact]
    public void Lcm_controlled_graph_takes_timestep_cond_beside_the_controlnet_residuals()
    {
        using var plain = Sd1Checkpoint.Open(Reference.DiffusersFolder);
        using var lcm = Sd1Checkpoint.Open(LcmFolder(plain.UNet!.ModelChannels));
        var residuals = ControlResiduals.Names(plain.UNet).ToDictionary(n => n, ControlNetReferenceTests.Tensor);
        var plainPath = Path.Combine(_scratch, "plain-controlled.onnx");
        var lcmPath = Path.Combine(_scratch, "lcm-controlled.onnx");
        File.WriteAllBytes(plainPath, plain.BuildControlledUNet().ToBytes());
        File.WriteAllBytes(lcmPath, lcm.BuildControlledUNet().ToBytes());
        var sample = ControlNetReferenceTests.Tensor("sample");
        var hidden = ControlNetReferenceTests.Tensor("encoder_hidden_states");
        var shape = new LatentShape((int)sample.Shape[0], (int)sample.Shape[1], (int)sample.Shape[2], (int)sample.Shape[3]);
        var sums = residuals.ToDictionary(r => r.Key, r => new ControlResidual(r.Key, r.Value.Values, r.Value.Shape), StringComparer.Ordinal);
        using var cache = new OnnxSessionCache();

        var expected = new float[shape.Length];
        UNetVariant.Open(cache, new OnnxModelSource(plainPath)).Predict(sample.Values, shape, T2, hidden.Values, (int)hidden.Shape[1], new UNetVariantInputs(Residuals: sums), expected, CancellationToken.None);
        var actual = new float[shape.Length];
        var controlled = UNetVariant.Open(cache, new OnnxModelSource(lcmPath));
        controlled.Predict(sample.Values, shape, T1, hidden.Values, (int)hidden.Shape[1], new UNetVariantInputs(TimestepCond: UnitCond(shape.Batch), Residuals: sums), actual, CancellationToken.None);

        Reference.AssertClose((expected, [shape.Batch, shape.Channels, shape.Height, shape.Width]), (actual, [shape.Batch, shape.Channels, shape.Height, shape.Width]), 1e-4, "controlled LCM out_sample");
        var missing = Assert.Throws<ArgumentException>(() => controlled.Predict(sample.Values, shape, T1, hidden.Values, (int)hidden.Shape[1], new UNetVariantInputs(Residuals: sums), actual, CancellationToken.None));
        Assert.Contains("timestep_cond", missing.Message);
    }

    [Fact]
    public void Lcm_IP_adapted_graph_takes_timestep_cond_beside_the_image_prompt_and_matches_torch()
    {
        // torch: the UNet with image a at 0.7 at timestep 700 (T2); the LCM graph with e_k at T1 must give it.
        using var plain = Sd1Checkpoint.Open(Reference.DiffusersFolder);
        using var lcm = Sd1Checkpoint.Open(LcmFolder(plain.UNet!.ModelChannels));
        using var adapterCheckpoint = IpAdapterCheckpoint.Open(Path.Combine(Reference.Folder, "ipadapter", "ip-adapter.safetensors"));
        var adapterPath = Path.Combine(_scratch, "adapter.onnx");
        var lcmPath = Path.Combine(_scratch, "lcm-ipadapter.onnx");
        File.WriteAllBytes(adapterPath, adapterCheckpoint.BuildGraph().ToBytes());
        File.WriteAllBytes(lcmPath, lcm.BuildIpAdaptedUNet().ToBytes());
        using var cache = new OnnxSessionCache();
        var ipa = Path.Combine(Reference.Folder, "ipadapter");
        var image = IpAdapterModel.Open(cache, new OnnxModelSource(adapterPath)).Project(IpAdapterControlNetReferenceTests.Load(ipa, "a.image_embeds").Values, 1, CancellationToken.None);
        var unet = UNetVariant.Open(cache, new OnnxModelSource(lcmPath));
        var prompt = new IpAttention([image], [.. Enumerable.Repeat(0.7f, unet.IpChannels.Count)]);
        var sample = IpAdapterControlNetReferenceTests.Load(ipa, "e2e.sample").Values;
        var hidden = IpAdapterControlNetReferenceTests.Load(ipa, "e2e.encoder_hidden_states").Values;
        var shape = new LatentShape(1, 4, 8, 8);

        var actual = new float[shape.Length];
        unet.Predict(sample, shape, T1, hidden, 77, new UNetVariantInputs(TimestepCond: UnitCond(1), ImagePrompt: prompt), actual, CancellationToken.None);
        Reference.AssertClose(IpAdapterControlNetReferenceTests.Load(IpAdapterControlNetReferenceTests.SdFolder, "lcm.adapted"), (actual, [1, 4, 8, 8]), 1e-4, "LCM IP-adapted out_sample at t1 with e_k");
        var missing = Assert.Throws<ArgumentException>(() => unet.Predict(sample, shape, T1, hidden, 77, new UNetVariantInputs(ImagePrompt: prompt), actual, CancellationToken.None));
        Assert.Contains("timestep_cond", missing.Message);
    }

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    // diffusers' Timesteps(flip_sin_to_cos=True, downscale_freq_shift=0) for SD: [cos(t·f_i), sin(t·f_i)], f_i = 10000^(−i/half).
    private static double[] Sinusoid(double t, int channels)
    {
        var half = channels / 2;
        var result = new double[channels];
        for (var i = 0; i < half; i++)
        {
            var angle = t * Math.Exp(-Math.Log(10000.0) * i / half);
            result[i] = Math.Cos(angle);
            result[half + i] = Math.Sin(angle);
        }

        return result;
    }

    private static float[] UnitCond(int batch)
    {
        var cond = new float[batch * CondWidth];
        for (var b = 0; b < batch; b++) cond[(b * CondWidth) + Column] = 1f;
        return cond;
    }

    // The reference diffusers folder with an F32 UNet that has cond_proj [channels, CondWidth] (nn.Linear's [out, in]).
    private string LcmFolder(int channels)
    {
        var folder = Path.Combine(_scratch, "lcm");
        foreach (var file in Directory.EnumerateFiles(Reference.DiffusersFolder, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(folder, Path.GetRelativePath(Reference.DiffusersFolder, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        var (t1, t2) = (Sinusoid(T1, channels), Sinusoid(T2, channels));
        var weight = new float[channels * CondWidth];
        for (var o = 0; o < channels; o++)
        {
            for (var k = 0; k < CondWidth; k++)
            {
                // The other columns meet zeros in e_k; non-zero, they would show a transposed or mis-indexed projection.
                weight[(o * CondWidth) + k] = k == Column ? (float)(t2[o] - t1[o]) : (float)Math.Sin((o * 7) + k);
            }
        }

        var unet = Path.Combine(folder, "unet", "diffusion_pytorch_model.safetensors");
        File.Delete(unet);
        Float32Checkpoint.Write(
            Path.Combine(Reference.DiffusersFolder, "unet", "diffusion_pytorch_model.safetensors"),
            unet,
            new Dictionary<string, (float[] Values, long[] Shape)> { ["time_embedding.cond_proj.weight"] = (weight, [channels, CondWidth]) });
        return folder;
    }

    private static (float[] Values, long[] Shape) RunUNet(byte[] model, float timestep, float[]? cond)
    {
        var sample = Reference.Tensor("unet.sample");
        var batch = (int)sample.Shape[0];
        var inputs = new List<(string, OrtValue)>
        {
            ("sample", Reference.Floats(sample)),
            ("timestep", Reference.Floats((Enumerable.Repeat(timestep, batch).ToArray(), [batch]))),
            ("encoder_hidden_states", Reference.Floats(Reference.Tensor("unet.encoder_hidden_states"))),
        };
        if (cond is not null) inputs.Add(("timestep_cond", Reference.Floats((cond, [batch, CondWidth]))));
        return Reference.Run(model, [.. inputs])["out_sample"];
    }

}
