using System.Buffers.Binary;
using System.Text.Json;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Formats.Tests;

/// <summary>
/// PyTorch checkpoints (torch.save's ZIP archives and its legacy format) open as safetensors files do: every tensor of the files torch wrote
/// (tools/reference/make_torch_checkpoints.py) reads back as the values torch.load gives, with its dtype and shape; views
/// and tied weights are read in place; the dictionary ComfyUI would take is the one read; what cannot be read is named;
/// and damaged files fail with the reader's own error, never another exception.
/// </summary>
public sealed class TorchCheckpointTests
{
    [Theory]
    [InlineData("mixed.ckpt", "mixed.ckpt")]
    [InlineData("mixed-p4.pt", "mixed-p4.pt")]
    [InlineData("mixed-zip64.ckpt", "mixed.ckpt")]
    [InlineData("mixed-legacy.ckpt", "mixed.ckpt")]
    [InlineData("embedding.pt", "embedding.pt")]
    [InlineData("upscaler.pth", "upscaler.pth")]
    public void Every_tensor_reads_back_as_torch_load_gives_it(string name, string expectedName)
    {
        using var file = SafetensorsFile.Open(Torch(name));
        using var expected = JsonDocument.Parse(File.ReadAllText(Torch(expectedName + ".expected.json")));
        Assert.Equal(expected.RootElement.EnumerateObject().Select(p => p.Name).Order(), file.Tensors.Keys.Order());
        foreach (var entry in expected.RootElement.EnumerateObject())
        {
            var tensor = file.Get(entry.Name);
            Assert.Equal(entry.Value.GetProperty("dtype").GetString(), SafetensorsDTypes.Name(tensor.DType));
            Assert.Equal(entry.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()), tensor.Shape);
            var values = entry.Value.GetProperty("values").EnumerateArray().ToArray();
            if (SafetensorsDTypes.ConvertsToFloat32(tensor.DType))
            {
                Assert.Equal(values.Select(v => (float)v.GetDouble()), file.ReadFloat32(entry.Name));
            }
            else
            {
                Assert.Equal(values.Select(v => v.GetInt64()), Integers(file, tensor));
            }
        }
    }

    [Theory]
    [InlineData("mixed.ckpt")]
    [InlineData("mixed-legacy.ckpt")]
    public void A_lightning_checkpoint_gives_its_state_dict_and_views_read_in_place(string name)
    {
        using var file = SafetensorsFile.Open(Torch(name));
        Assert.DoesNotContain(file.Tensors.Keys, k => k.StartsWith("state_dict", StringComparison.Ordinal) || k.Contains("callbacks", StringComparison.Ordinal));
        Assert.Contains("model.nested.inner", file.Tensors.Keys);
        var matrix = file.Get("model.matrix");
        Assert.Equal(matrix.Offset + (2 * 3 * 4), file.Get("model.row").Offset);
        Assert.Equal(file.Get("model.tied_a").Offset, file.Get("model.tied_b").Offset);
        Assert.Empty(file.Get("model.scalar").Shape);
        Assert.Equal(0, file.Get("model.empty").ByteLength);
        Assert.Empty(file.Header.Metadata);
    }

    [Fact]
    public void Params_ema_is_read_where_an_upscaler_holds_it_beside_params()
    {
        using var file = SafetensorsFile.Open(Torch("upscaler.pth"));
        using var expected = JsonDocument.Parse(File.ReadAllText(Torch("upscaler.pth.expected.json")));
        var want = expected.RootElement.GetProperty("conv_first.weight").GetProperty("values").EnumerateArray().Select(v => (float)v.GetDouble());
        Assert.Equal(want, file.ReadFloat32("conv_first.weight"));
        Assert.Single(file.Tensors);
    }

    [Theory]
    [InlineData("transposed.pt", "weight.t", "contiguous")]
    [InlineData("quantized.pt", "q", "torch._utils._rebuild_qtensor")]
    public void A_tensor_that_cannot_be_read_in_place_is_named(string name, string tensor, string reason)
    {
        var e = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(Torch(name)));
        Assert.Equal(tensor, e.TensorName);
        Assert.Contains(name, e.Message);
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void A_pickle_that_calls_a_function_runs_nothing_and_is_refused_naming_the_call()
    {
        var e = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(Torch("payload.pt")));
        Assert.Contains("a call to posix.system, not a dictionary of tensors", e.Message);
        Assert.False(File.Exists("/tmp/flowdiffusion-payload-ran"));
    }

    [Fact]
    public void A_bare_pickle_that_is_no_checkpoint_is_refused_naming_what_it_lacks()
    {
        var notTorch = TestFiles.Write([0x80, 0x02, 0x4b, 0x07, 0x2e], ".pt");
        var truncated = TestFiles.Write([0x80, 0x02, 0x7d, 0x71, 0x00], ".pt");
        try
        {
            Assert.Contains("not PyTorch's magic number", Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(notTorch)).Message);
            var e = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(truncated));
            Assert.Contains(truncated, e.Message);
            Assert.Contains("truncated", e.Message);
        }
        finally
        {
            File.Delete(notTorch);
            File.Delete(truncated);
        }
    }

    [Theory]
    [InlineData("mixed.ckpt")]
    [InlineData("mixed-legacy.ckpt")]
    public void Every_truncation_fails_with_the_readers_error(string name)
    {
        var bytes = File.ReadAllBytes(Torch(name));
        for (var length = 0; length < bytes.Length; length += 3)
        {
            var path = TestFiles.Write(bytes[..length], ".ckpt");
            try
            {
                var e = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path).Dispose());
                Assert.Contains(path, e.Message);
            }
            finally
            {
                File.Delete(path);
            }
        }
    }

    [Theory]
    [InlineData("mixed-p4.pt")]
    [InlineData("mixed-legacy.ckpt")]
    public void Damaged_bytes_give_the_readers_error_or_a_file_whose_tensors_lie_inside_it(string name)
    {
        var original = File.ReadAllBytes(Torch(name));
        var random = new Random(24);
        var path = TestFiles.Write(original, ".pt");
        try
        {
            for (var round = 0; round < 1500; round++)
            {
                var bytes = (byte[])original.Clone();
                for (var flips = random.Next(1, 4); flips > 0; flips--)
                {
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                }

                File.WriteAllBytes(path, bytes);
                try
                {
                    using var file = SafetensorsFile.Open(path);
                    foreach (var tensor in file.Tensors.Values)
                    {
                        Assert.InRange(tensor.Offset + tensor.ByteLength, 0, bytes.Length);
                        _ = file.GetBytes(tensor).Length;
                    }
                }
                catch (SafetensorsException)
                {
                }
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string Torch(string name) => TestFiles.Data(Path.Combine("torch", name));

    private static IEnumerable<long> Integers(SafetensorsFile file, SafetensorsTensor tensor)
    {
        var bytes = file.GetBytes(tensor).ToArray();
        var size = SafetensorsDTypes.Size(tensor.DType);
        for (var i = 0; i < bytes.Length; i += size)
        {
            yield return tensor.DType switch
            {
                SafetensorsDType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(i)),
                SafetensorsDType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(i)),
                SafetensorsDType.UInt8 or SafetensorsDType.Bool => bytes[i],
                _ => throw new InvalidOperationException($"{tensor.Name}: no integer reading for {tensor.DType}"),
            };
        }
    }
}
