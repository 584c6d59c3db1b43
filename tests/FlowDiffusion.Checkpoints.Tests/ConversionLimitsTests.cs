using System.Text;
using FlowDiffusion.Checkpoints.Export;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// Converting a checkpoint, VAE, ControlNet or Control-LoRA into cached ONNX graphs is bounded: it can be cancelled, it stops after
/// its time limit, it is refused up front when the cache's disk lacks the space, and none of these leaves a cache entry.
/// </summary>
public sealed class ConversionLimitsTests : IDisposable
{
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-conversion-" + Guid.NewGuid().ToString("N"));

    public ConversionLimitsTests()
    {
        Directory.CreateDirectory(Tokenizer);
        File.WriteAllText(Path.Combine(Tokenizer, "vocab.json"), "{}");
        File.WriteAllText(Path.Combine(Tokenizer, "merges.txt"), "#version: 0.2\n");
    }

    private string Tokenizer => Path.Combine(_scratch, "tokenizer");

    private string Cache => Path.Combine(_scratch, "cache");

    public void Dispose()
    {
        if (Directory.Exists(_scratch))
        {
            Directory.Delete(_scratch, recursive: true);
        }
    }

    [Fact]
    public void A_conversion_cancelled_once_started_stops_and_caches_nothing()
    {
        using var cancel = new CancellationTokenSource();

        // Cancelled by the "converting" notice, i.e. after the cache missed and before the first tensor is written.
        Assert.ThrowsAny<OperationCanceledException>(() =>
            CheckpointCache.Prepare(Reference.LdmFile, Tokenizer, Cache, "epsilon", cancel.Cancel, new ConversionLimits { CancellationToken = cancel.Token }));

        Assert.Empty(Directory.EnumerateFileSystemEntries(Cache));
    }

    [Fact]
    public void A_cancelled_vae_or_controlnet_conversion_caches_nothing_either()
    {
        using var cancel = new CancellationTokenSource();
        var limits = new ConversionLimits { CancellationToken = cancel.Token };

        Assert.ThrowsAny<OperationCanceledException>(() => CheckpointCache.PrepareVae(Path.Combine(Reference.Folder, "vae", "reference.safetensors"), Cache, cancel.Cancel, limits));
        Assert.ThrowsAny<OperationCanceledException>(() => ControlNetCache.Prepare(Path.Combine(Reference.Folder, "controlnet", "control-ldm-fp16.safetensors"), Cache, cancel.Cancel, limits));

        Assert.Empty(Directory.EnumerateFileSystemEntries(Cache));
    }

    [Fact]
    public void A_conversion_past_its_time_limit_stops_naming_the_setting_caches_nothing_and_a_later_one_succeeds()
    {
        var late = Assert.Throws<TimeoutException>(() =>
            CheckpointCache.Prepare(Reference.LdmFile, Tokenizer, Cache, "epsilon", limits: new ConversionLimits { Timeout = TimeSpan.Zero }));

        Assert.Contains("ldm-fp16.safetensors", late.Message);
        Assert.Contains("FlowDiffusion:ConversionTimeoutSeconds", late.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Cache));

        var folder = CheckpointCache.Prepare(Reference.LdmFile, Tokenizer, Cache, "epsilon");
        Assert.True(File.Exists(Path.Combine(folder, "unet", "model.onnx")));
        Assert.Equal([folder], Directory.EnumerateFileSystemEntries(Cache));
    }

    [Fact]
    public void A_conversion_needing_more_disk_than_is_free_is_refused_before_writing_naming_the_folder_and_the_bytes()
    {
        // A checkpoint whose one tensor holds 2^41 float16 values (4 TiB, sparse on disk): converted to float32 it needs 8 TiB.
        var huge = Path.Combine(_scratch, "huge.safetensors");
        const long elements = 1L << 41;
        var header = Encoding.UTF8.GetBytes($$$"""{"model.diffusion_model.input_blocks.0.0.weight":{"dtype":"F16","shape":[{{{elements}}}],"data_offsets":[0,{{{elements * 2}}}]}}""");
        using (var file = new FileStream(huge, FileMode.CreateNew))
        {
            file.Write(BitConverter.GetBytes((ulong)header.Length));
            file.Write(header);
            file.SetLength(8 + header.Length + (elements * 2));
        }

        var refused = Assert.Throws<IOException>(() => CheckpointCache.Prepare(huge, Tokenizer, Cache, "epsilon"));

        Assert.Contains("not enough free disk space", refused.Message);
        Assert.Contains($"'{Cache}'", refused.Message);
        Assert.Contains("8192.0 GiB", refused.Message);
        Assert.Contains(CheckpointCache.RootVariable, refused.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Cache));
    }

    [Fact]
    public void A_Control_LoRA_over_a_UNet_too_big_for_the_disk_is_refused_before_reading_a_weight()
    {
        // The free space needed comes from the UNet's encoder (2^40 float32 values, written twice), not the small file.
        var lora = Path.Combine(SdxlReference.Folder, "controlnet", "control-lora", "control-lora.safetensors");
        (string, long[])[] unet = [("down_blocks.0.resnets.0.conv1.weight", [1L << 40]), ("up_blocks.0.resnets.0.conv1.weight", [1L << 45])];

        var refused = Assert.Throws<IOException>(() => ControlNetCache.PrepareControlLora(lora, "unet", unet,
            name => throw new InvalidOperationException($"read {name}"), Cache));

        Assert.Contains("not enough free disk space", refused.Message);
        Assert.Contains($"'{Cache}'", refused.Message);
        Assert.Contains("8192.0 GiB", refused.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Cache));
    }
}
