using System.Text.Json;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Formats.Tests;

public sealed class SafetensorsReadTests
{
    [Fact]
    public void Float32_float16_and_bfloat16_tensors_read_as_the_float32_values_torch_gives()
    {
        using var file = SafetensorsFile.Open(TestFiles.Data("mixed.safetensors"));
        using var expected = JsonDocument.Parse(File.ReadAllText(TestFiles.Data("mixed.expected.json")));
        var checkedNames = 0;
        foreach (var entry in expected.RootElement.EnumerateObject())
        {
            var tensor = file.Get(entry.Name);
            Assert.Equal(entry.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()), tensor.Shape);
            var want = entry.Value.GetProperty("values").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
            Assert.Equal(want, file.ReadFloat32(entry.Name));
            checkedNames++;
        }

        Assert.Equal(5, checkedNames);
        Assert.Equal(SafetensorsDType.Float16, file.Get("weights.f16").DType);
        Assert.Equal(SafetensorsDType.BFloat16, file.Get("weights.bf16").DType);
        Assert.Equal([2L, 2, 2], file.Get("weights.bf16").Shape);
        Assert.Empty(file.Get("scalar.f32").Shape);
    }

    [Fact]
    public void Metadata_and_integer_tensors_are_exposed_raw()
    {
        using var file = SafetensorsFile.Open(TestFiles.Data("mixed.safetensors"));
        Assert.Equal("pt", file.Header.Metadata["format"]);
        var ids = file.Get("ids.i64");
        Assert.Equal(SafetensorsDType.Int64, ids.DType);
        var raw = file.GetBytes(ids);
        Assert.Equal(49406L, BitConverter.ToInt64(raw[..8]));
        Assert.Equal(49407L, BitConverter.ToInt64(raw[16..24]));
    }

    [Fact]
    public void Reading_an_integer_tensor_as_float_names_the_file_and_tensor()
    {
        using var file = SafetensorsFile.Open(TestFiles.Data("mixed.safetensors"));
        var e = Assert.Throws<SafetensorsException>(() => file.ReadFloat32("ids.i64"));
        Assert.Equal("ids.i64", e.TensorName);
        Assert.Contains("mixed.safetensors", e.Message);
        Assert.Contains("I64", e.Message);
    }

    [Fact]
    public void A_missing_tensor_is_named()
    {
        using var file = SafetensorsFile.Open(TestFiles.Data("mixed.safetensors"));
        var e = Assert.Throws<SafetensorsException>(() => file.Get("model.diffusion_model.out.2.weight"));
        Assert.Contains("model.diffusion_model.out.2.weight", e.Message);
    }

    [Fact]
    public void A_file_truncated_inside_its_data_names_the_tensor_that_no_longer_fits()
    {
        var bytes = File.ReadAllBytes(TestFiles.Data("mixed.safetensors"));
        var path = TestFiles.Write(bytes[..^4]);
        var e = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path));
        Assert.Equal(path, e.FilePath);
        Assert.NotNull(e.TensorName);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void A_file_truncated_inside_its_header_says_so()
    {
        var bytes = File.ReadAllBytes(TestFiles.Data("mixed.safetensors"));
        var e = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(TestFiles.Write(bytes[..100])));
        Assert.Contains("truncated", e.Message);
        Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(TestFiles.Write(bytes[..5])));
        Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(TestFiles.Write([])));
    }

    [Fact]
    public void A_git_lfs_pointer_says_to_run_git_lfs_pull()
    {
        var pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:4c2a1f0e\nsize 2132625894\n"u8.ToArray();
        var e = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(TestFiles.Write(pointer)));
        Assert.Contains("git lfs pull", e.Message);
    }

    [Theory]
    [InlineData("zip.ckpt")]
    [InlineData("legacy.ckpt")]
    public void A_checkpoint_written_by_torch_save_opens(string name)
    {
        using var file = SafetensorsFile.Open(TestFiles.Data(name));
        Assert.Equal([1f, 1f], file.ReadFloat32("w"));
    }

    [Theory]
    [InlineData(0x280)]
    [InlineData(0x580)]
    public void A_header_whose_length_starts_like_a_pickle_stream_is_read(int length)
    {
        // 0x80 then 2…5 opens a pickle stream (PROTO); a header of these lengths starts with the same two bytes.
        var json = """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""";
        var bytes = TestFiles.Build(json.PadRight(length), 8);
        BitConverter.TryWriteBytes(bytes.AsSpan(8 + length, 4), 1.5f);
        var header = SafetensorsHeader.Parse("x.safetensors", bytes, bytes.Length);
        Assert.Equal([2L], header.Tensors["x"].Shape);
    }

    [Fact]
    public void A_header_length_over_the_limit_is_refused_before_reading_it()
    {
        var bytes = TestFiles.Build("{}", 0);
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), ulong.MaxValue);
        var e = Assert.Throws<SafetensorsException>(() => SafetensorsHeader.Parse("x.safetensors", bytes, bytes.Length));
        Assert.Contains("limit", e.Message);
        var small = TestFiles.Build("{}", 0);
        Assert.Throws<SafetensorsException>(() => SafetensorsHeader.Parse("x.safetensors", small, small.Length, maxHeaderBytes: 1));
    }

    [Theory]
    [InlineData("""{"t":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}""", "too large")]
    [InlineData("""{"t":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}""", "needs 16 bytes")]
    [InlineData("""{"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}""", "non-negative")]
    [InlineData("""{"t":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}""", "outside")]
    [InlineData("""{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551615]}}""", "data_offsets[1]")]
    [InlineData("""{"t":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}}""", "unknown dtype 'Q4'")]
    [InlineData("""{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"u":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", "overlaps")]
    [InlineData("""{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", "twice")]
    [InlineData("""{"t":{"dtype":"F32","shape":[1]}}""", "data_offsets")]
    [InlineData("""[1,2]""", "not an object")]
    [InlineData("""{"t":""", "not valid JSON")]
    [InlineData("""{"__metadata__":{"a":1}}""", "not a string")]
    public void A_malformed_header_is_refused_with_the_reason(string header, string reason)
    {
        var bytes = TestFiles.Build(header, 16);
        var e = Assert.Throws<SafetensorsException>(() => SafetensorsHeader.Parse("bad.safetensors", bytes, bytes.Length));
        Assert.Contains(reason, e.Message);
        Assert.StartsWith("bad.safetensors", e.Message);
    }
}
