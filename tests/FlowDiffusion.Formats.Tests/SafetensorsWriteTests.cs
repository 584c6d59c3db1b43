using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Formats.Tests;

public sealed class SafetensorsWriteTests
{
    [Fact]
    public void Tensors_of_any_dtype_and_metadata_are_written_in_the_layout_the_reader_and_the_format_define()
    {
        var path = TestFiles.Write([]);
        try
        {
            var doubles = new byte[16];
            BinaryPrimitives.WriteDoubleLittleEndian(doubles, 0.1);
            BinaryPrimitives.WriteDoubleLittleEndian(doubles.AsSpan(8), -2.5);
            SafetensorsWriter.Write(path,
            [
                ("values", SafetensorsDType.Float64, [1, 2], doubles),
                ("empty", SafetensorsDType.Float32, [0], []),
            ], new Dictionary<string, string> { ["prompt"] = "{\"a\": \"\u00fc\"}" });

            // By hand: the length, a JSON header padded to 8 bytes with __metadata__ first, tensors by name, the data.
            var bytes = File.ReadAllBytes(path);
            var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            Assert.Equal(0, (8 + length) % 8);
            var text = Encoding.UTF8.GetString(bytes, 8, length);
            Assert.StartsWith("{\"__metadata__\":", text);
            var header = JsonNode.Parse(text)!.AsObject();
            Assert.Equal(["__metadata__", "empty", "values"], header.Select(p => p.Key));
            Assert.Equal("[0,0]", header["empty"]!["data_offsets"]!.ToJsonString());
            Assert.Equal("{\"dtype\":\"F64\",\"shape\":[1,2],\"data_offsets\":[0,16]}", header["values"]!.ToJsonString());
            Assert.Equal(doubles, bytes[(8 + length)..]);

            using var file = SafetensorsFile.Open(path);
            Assert.Equal("{\"a\": \"\u00fc\"}", file.Header.Metadata["prompt"]);
            Assert.Equal([0.1f, -2.5f], file.ReadFloat32("values"));
            Assert.Equal(0, file.Get("empty").ElementCount);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Bytes_that_do_not_fill_the_shape_are_refused_and_leave_no_file()
    {
        var path = Path.Combine(Path.GetTempPath(), "flowdiffusion-formats-" + Guid.NewGuid().ToString("N") + ".safetensors");
        var error = Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [("x", SafetensorsDType.Float64, [3], new byte[16])]));
        Assert.Contains("needs 24", error.Message);
        Assert.False(File.Exists(path));
    }
}
