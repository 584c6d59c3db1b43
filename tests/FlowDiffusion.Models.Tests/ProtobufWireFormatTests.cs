using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Models.Tests;

/// <summary>The hand-written protobuf encoder against byte sequences worked out from the protobuf encoding spec.</summary>
public sealed class ProtobufWireFormatTests
{
    public static TheoryData<string, byte[], byte[]> Fields => new()
    {
        { "varint 300 in field 1", Encode(w => w.WriteInt64(1, 300)), [0x08, 0xAC, 0x02] },
        { "int64 -1 as ten bytes", Encode(w => w.WriteInt64(3, -1)), [0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01] },
        { "float 1.0 fixed32 little-endian", Encode(w => w.WriteFloat(2, 1f)), [0x15, 0x00, 0x00, 0x80, 0x3F] },
        { "string field 4", Encode(w => w.WriteString(4, "Conv")), [0x22, 0x04, 0x43, 0x6F, 0x6E, 0x76] },
        { "field 20 needs a two-byte tag", Encode(w => w.WriteInt64(20, 7)), [0xA0, 0x01, 0x07] },
        { "nested message is length-prefixed", Encode(w => w.WriteMessage(8, m => m.WriteInt64(2, 17))), [0x42, 0x02, 0x10, 0x11] },
    };

    [Theory]
    [MemberData(nameof(Fields))]
    public void Writer_encodes_fields_as_the_wire_format_specifies(string description, byte[] encoded, byte[] expected)
    {
        Assert.NotEmpty(description);
        Assert.Equal(expected, encoded);
    }

    private static byte[] Encode(Action<ProtobufWriter> write)
    {
        var writer = new ProtobufWriter();
        write(writer);
        return writer.ToArray();
    }

    [Fact]
    public void Model_starts_with_ir_version_8_and_declares_opset_17()
    {
        var bytes = File.ReadAllBytes(Path.Combine(RepositoryRoot.Models, "analytic-sd", "vae_decoder", "model.onnx"));

        Assert.Equal([0x08, 0x08], bytes[..2]);
        // opset_import { domain: "", version: 17 } is the last field: tag 0x42, length 4, "" (0x0A 0x00), version (0x10 0x11).
        Assert.Equal([0x42, 0x04, 0x0A, 0x00, 0x10, 0x11], bytes[^6..]);
    }
}
