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

    [Fact]
    public void Streamed_tensors_are_read_one_at_a_time_in_file_order_and_a_failure_leaves_neither_the_file_nor_a_temporary_one()
    {
        var folder = Directory.CreateTempSubdirectory("flowdiffusion-stream-").FullName;
        try
        {
            var path = Path.Combine(folder, "model.safetensors");
            var asked = new List<string>();
            byte[] Read(string name)
            {
                asked.Add(name);
                // While a tensor is being read, the file exists only under its temporary name.
                Assert.False(File.Exists(path));
                return name == "b" ? [1, 2, 3, 4] : [5, 6];
            }

            SafetensorsWriter.Write(path, [("b", SafetensorsDType.Float32, [1]), ("a", SafetensorsDType.Float16, [1])], Read,
                new Dictionary<string, string> { ["k"] = "v" });
            Assert.Equal(["a", "b"], asked);
            using (var file = SafetensorsFile.Open(path))
            {
                Assert.Equal([5, 6], file.GetBytes(file.Get("a")).ToArray());
                Assert.Equal([1, 2, 3, 4], file.GetBytes(file.Get("b")).ToArray());
                Assert.Equal("v", file.Header.Metadata["k"]);
            }

            var failed = Path.Combine(folder, "failed.safetensors");
            var error = Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(failed, [("a", SafetensorsDType.Float32, [2]), ("b", SafetensorsDType.Float32, [1])],
                name => name == "a" ? new byte[8] : new byte[3]));
            Assert.Contains("Tensor 'b' has 3 bytes", error.Message);
            Assert.Equal([path], Directory.GetFiles(folder));
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }
}
