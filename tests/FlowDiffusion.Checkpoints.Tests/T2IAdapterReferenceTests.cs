using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.T2IAdapter;
using FlowDiffusion.Formats.Safetensors;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>The tiny T2I-Adapters (tools/reference/make_t2i_adapter.py) and the UNet taking their features, against the torch reference.</summary>
public sealed class T2IAdapterReferenceTests
{
    private static string Folder => Path.Combine(Reference.Folder, "t2i-adapter");

    public static TheoryData<string> Layouts => new() { "original", "diffusers" };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Adapter_features_match_torch(string layout)
    {
        using var adapter = Open(layout);
        Assert.Equal(layout, adapter.Layout);
        var features = RunAdapter(adapter, "hint");
        Assert.Equal(["feature_0", "feature_1"], features.Keys.Order());
        Reference.AssertClose(Tensor("feature_0"), features["feature_0"], 1e-4, "feature_0");
        Reference.AssertClose(Tensor("feature_1"), features["feature_1"], 1e-4, "feature_1");
    }

    [Fact]
    public void Architecture_is_read_from_the_tensors_and_the_unshuffle_factor()
    {
        using var xl = Open("original");
        Assert.Equal(new[] { 64, 32 }, xl.Architecture.Channels);
        Assert.Equal((3, 16, 2), (xl.Architecture.InputChannels, xl.Architecture.Unshuffle, xl.Architecture.ResBlocksPerLevel));
        Assert.Equal(new[] { false, false }, xl.Architecture.Downsamples);
        Assert.True(xl.Architecture.IsSdxl);

        using var gray = T2IAdapterCheckpoint.Open(Path.Combine(Folder, "sd1-gray-fp16.safetensors"));
        Assert.Equal((1, 8), (gray.Architecture.InputChannels, gray.Architecture.Unshuffle));
        Assert.Equal(new[] { false, true }, gray.Architecture.Downsamples);
    }

    [Fact]
    public void A_one_channel_SD1_adapter_downsamples_its_second_level_with_ceil_mode_as_torch_does()
    {
        using var gray = T2IAdapterCheckpoint.Open(Path.Combine(Folder, "sd1-gray-fp16.safetensors"));
        var features = RunAdapter(gray, "hint_gray");
        Reference.AssertClose(Tensor("gray.feature_0"), features["feature_0"], 1e-4, "feature_0");
        Reference.AssertClose(Tensor("gray.feature_1"), features["feature_1"], 1e-4, "feature_1 (5×6 pooled to 3×3)");
    }

    [Fact]
    public void The_controlled_UNet_with_adapter_features_matches_torch_and_without_them_is_the_plain_UNet()
    {
        using var adapter = Open("diffusers");
        var features = RunAdapter(adapter, "hint");
        using var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile);
        var unet = checkpoint.BuildControlledUNet().ToBytes();
        Assert.Equal(["down_intrablock_0", "down_intrablock_1", "down_intrablock_2"], AdapterFeatures.Names(checkpoint.UNet!));

        var adapted = RunUNet(unet, new() { ["down_intrablock_0"] = features["feature_0"], ["down_intrablock_1"] = features["feature_1"] });
        Reference.AssertClose(Tensor("unet.adapted"), adapted, 1e-4, "out_sample with the adapter's features");
        Assert.True(Reference.MaxDifference(Tensor("unet.out_sample").Values, adapted.Values) > 0.1, "the features must change the prediction");

        // The feature inputs are optional (zero defaults), so the ControlNet callers that leave them out get the plain UNet;
        // zero residuals of [B, C, 1, 1] broadcast, which is what an adapter-only call feeds the ControlNet inputs.
        var zeros = ControlResiduals.Names(checkpoint.UNet!).ToDictionary(n => n, n => ZeroResidual(checkpoint, n));
        Reference.AssertClose(Tensor("unet.out_sample"), RunUNet(unet, zeros, withResiduals: false), 1e-4, "out_sample without features");
    }

    [Fact]
    public void Stacked_adapters_add_their_scaled_features()
    {
        using var adapter = Open("original");
        var a = RunAdapter(adapter, "hint");
        var b = RunAdapter(adapter, "hint_b");
        (float[], long[]) Mix(string name) => (a[name].Values.Select((v, i) => (0.7f * v) + (0.4f * b[name].Values[i])).ToArray(), a[name].Shape);
        using var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile);
        var unet = checkpoint.BuildControlledUNet().ToBytes();
        Reference.AssertClose(Tensor("unet.stacked"), RunUNet(unet, new() { ["down_intrablock_0"] = Mix("feature_0"), ["down_intrablock_1"] = Mix("feature_1") }), 1e-4, "stacked out_sample");
    }

    [Fact]
    public void Diffusers_keys_map_to_the_original_flat_body()
    {
        string[] keys = ["adapter.conv_in.weight", "adapter.body.1.in_conv.bias", "adapter.body.1.resnets.1.block2.weight", "adapter.body.3.resnets.0.block1.bias"];
        var map = T2IAdapterKeyMap.FromDiffusers(keys, 2, "x.safetensors");
        Assert.Equal(["conv_in.weight", "body.2.in_conv.bias", "body.3.block2.weight", "body.6.block1.bias"], keys.Select(k => map[k]));
        var e = Assert.Throws<CheckpointException>(() => T2IAdapterKeyMap.FromDiffusers(["adapter.body.0.out_conv.weight"], 2, "x.safetensors"));
        Assert.Contains("adapter.body.0.out_conv.weight", e.Message);
    }

    [Fact]
    public void A_ControlNet_or_a_model_is_refused_as_a_T2I_Adapter_by_name()
    {
        Assert.False(T2IAdapterCheckpoint.IsAdapter(Reference.LdmFile));
        Assert.False(T2IAdapterCheckpoint.IsAdapter(Path.Combine(Reference.Folder, "controlnet", "control-ldm-fp16.safetensors")));
        Assert.True(T2IAdapterCheckpoint.IsAdapter(Path.Combine(Folder, "diffusers")));
        var e = Assert.Throws<CheckpointException>(() => T2IAdapterCheckpoint.Open(Reference.LdmFile));
        Assert.Contains("ldm-fp16.safetensors", e.Message);
        Assert.Contains("not a T2I-Adapter", e.Message);
    }

    internal static T2IAdapterCheckpoint Open(string layout) =>
        T2IAdapterCheckpoint.Open(layout == "original" ? Path.Combine(Folder, "adapter-fp16.safetensors") : Path.Combine(Folder, "diffusers"));

    internal static (float[] Values, long[] Shape) Tensor(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    private static (float[] Values, long[] Shape) ZeroResidual(Sd1Checkpoint checkpoint, string name)
    {
        var channels = ControlResiduals.SkipChannels(checkpoint.UNet!).Append(checkpoint.UNet!.LevelChannels[^1]).ToArray();
        var index = name == ControlResiduals.Mid ? channels.Length - 1 : int.Parse(name["down_block_".Length..], System.Globalization.CultureInfo.InvariantCulture);
        return (new float[2 * channels[index]], [2, channels[index], 1, 1]);
    }

    private static Dictionary<string, (float[] Values, long[] Shape)> RunAdapter(T2IAdapterCheckpoint adapter, string image) =>
        Reference.Run(adapter.BuildGraph().ToBytes(), ("image", Reference.Floats(Tensor(image))));

    private static (float[] Values, long[] Shape) RunUNet(byte[] unet, Dictionary<string, (float[] Values, long[] Shape)> extra, bool withResiduals = true)
    {
        var inputs = new List<(string, OrtValue)>
        {
            ("sample", Reference.Floats(Tensor("sample"))),
            ("timestep", Reference.Floats(Tensor("timestep"))),
            ("encoder_hidden_states", Reference.Floats(Tensor("encoder_hidden_states"))),
        };
        inputs.AddRange(extra.Select(r => (r.Key, Reference.Floats(r.Value))));
        if (withResiduals)
        {
            using var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile);
            inputs.AddRange(ControlResiduals.Names(checkpoint.UNet!).Select(n => (n, Reference.Floats(ZeroResidual(checkpoint, n)))));
        }

        return Reference.Run(unet, [.. inputs])["out_sample"];
    }

}
