using System.Text;
using CsCheck;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Formats.Tests;

/// <summary>
/// Generated pickles never crash the PyTorch reader: a legacy checkpoint's first three pickles (torch's own) followed by
/// a random stream of pickle opcodes — the ones torch.save writes, with their operands, tensor rebuilds and storage ids
/// among them, and random bytes — either opens with every tensor inside the file or is refused with a
/// <see cref="SafetensorsException"/>. CsCheck starts from the given seed and draws the rest of its 3,000 inputs afresh
/// on every run, so a run can find a case no earlier one did; each such case is kept below as a fixed test.
/// </summary>
public sealed class TorchCheckpointFuzzTests
{
    // The magic number, protocol version and system information pickles that open mixed-legacy.ckpt.
    private static readonly byte[] Preamble = File.ReadAllBytes(TestFiles.Data(Path.Combine("torch", "mixed-legacy.ckpt")))[..137];

    private static readonly byte[][] Tokens =
    [
        [(byte)'('], [(byte)'}'], [(byte)']'], [(byte)')'], [(byte)'t'], [0x85], [0x86], [0x87], [(byte)'u'], [(byte)'s'], [(byte)'a'],
        [(byte)'e'], [(byte)'R'], [(byte)'b'], [(byte)'Q'], [(byte)'N'], [0x88], [0x89], [(byte)'0'], [(byte)'1'], [(byte)'2'], [0x81],
        [0x92], [0x93], [0x94], [0x8f], [0x90], [0x91], [(byte)'d'], [(byte)'l'], [(byte)'o'], [(byte)'.'],
        Text('X', "state_dict"), Text('X', "storage"), Text('X', "0"), Text('X', "cpu"), Text('X', "w"),
        Ascii("ctorch._utils\n_rebuild_tensor_v2\n"), Ascii("ctorch\nFloatStorage\n"), Ascii("ccollections\nOrderedDict\n"),
        Ascii("ctorch._utils\n_rebuild_parameter\n"), Ascii("cposix\nsystem\n"), Ascii("I01\n"), Ascii("p0\n"), Ascii("g0\n"),
    ];

    [Fact]
    public void Random_pickles_after_a_legacy_preamble_are_read_or_refused_never_crash()
    {
        var token = Gen.Frequency(
            (6, Gen.Int[0, Tokens.Length - 1].Select(i => Tokens[i])),
            (3, Gen.Select(Gen.OneOf<byte>((byte)'K', (byte)'M', (byte)'J', (byte)'q', (byte)'h', (byte)'r', (byte)'j', 0x8a, 0x8c, (byte)'U', (byte)'C', (byte)'G'),
                Gen.Byte.Array[0, 8], (op, operand) => (byte[])[op, .. operand])),
            (1, Gen.Byte.Array[1, 4]));
        var path = TestFiles.Write([], ".pt");
        try
        {
            Gen.Select(token.Array[1, 60], Gen.Byte.Array[0, 32]).Sample(
                t =>
                {
                    var bytes = (byte[])[.. Preamble, 0x80, 0x02, .. t.Item1.SelectMany(b => b), (byte)'.', 0x80, 0x02, (byte)']', (byte)'.', .. t.Item2];
                    File.WriteAllBytes(path, bytes);
                    try
                    {
                        using var file = SafetensorsFile.Open(path);
                        foreach (var tensor in file.Tensors.Values)
                        {
                            Assert.InRange(tensor.Offset + tensor.ByteLength, 0, bytes.Length);
                        }
                    }
                    catch (SafetensorsException)
                    {
                    }
                },
                seed: "0N0XIzNsQ0P1",
                iter: 3000,
                threads: 1);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(new byte[] { (byte)'N', (byte)'N', (byte)'(', 0x86, (byte)'t' })] // TUPLE2 taking both items below the MARK, then TUPLE: the MARK above the stack (found by the fuzz test in CI)
    [InlineData(new byte[] { (byte)'(', 0x85 })] // TUPLE1 with nothing above the MARK
    [InlineData(new byte[] { (byte)'N', (byte)'(', (byte)'0' })] // POP across the MARK
    public void An_opcode_reaching_below_the_last_mark_is_refused(byte[] opcodes)
    {
        var path = TestFiles.Write([.. Preamble, 0x80, 0x02, .. opcodes, (byte)'.', 0x80, 0x02, (byte)']', (byte)'.'], ".pt");
        try
        {
            var error = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path).Dispose());
            Assert.Contains(Path.GetFileName(path), error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static byte[] Text(char opcode, string text) => [(byte)opcode, .. BitConverter.GetBytes(Encoding.UTF8.GetByteCount(text)), .. Encoding.UTF8.GetBytes(text)];

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);
}
