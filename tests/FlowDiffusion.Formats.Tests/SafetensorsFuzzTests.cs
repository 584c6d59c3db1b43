using System.Text;
using System.Text.RegularExpressions;
using CsCheck;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Formats.Tests;

/// <summary>
/// Mutated files never crash the reader: each either parses into tensors that all lie inside the file with byte counts
/// matching their shapes, or is refused with a <see cref="SafetensorsException"/>. Fixed seeds and iteration counts, so
/// every run checks the same inputs.
/// </summary>
public sealed partial class SafetensorsFuzzTests
{
    private static readonly byte[] Sample = File.ReadAllBytes(TestFiles.Data("mixed.safetensors"));

    [Fact]
    public void Random_byte_mutations_of_a_real_file_are_parsed_or_refused_never_crash()
    {
        var gen = Gen.Select(Gen.Int[0, Sample.Length - 1], Gen.Byte).Array[1, 8]
            .Select(Gen.Int[0, Sample.Length], (edits, length) => (edits, length));
        gen.Sample(
            t =>
            {
                var bytes = (byte[])Sample.Clone();
                foreach (var (position, value) in t.edits)
                {
                    bytes[position] = value;
                }

                ParseOrRefuse(bytes[..t.length]);
            },
            seed: "0N0XIzNsQ0O2",
            iter: 3000,
            threads: 1);
    }

    [Fact]
    public void Random_numbers_in_shapes_and_offsets_are_parsed_or_refused_never_crash()
    {
        var header = Encoding.UTF8.GetString(Sample, 8, BitConverter.ToInt32(Sample, 0));
        var numbers = Number().Matches(header).Count;
        var interesting = Gen.OneOf<long>(0L, 1L, 2L, 3L, 4L, 8L, 100L, -1L, long.MaxValue, long.MinValue, 1L << 32, 1L << 62, (1L << 61) + 1);
        var gen = Gen.Select(Gen.Int[0, numbers - 1], Gen.Frequency<long>((3, interesting), (1, Gen.Long))).Array[1, 4];
        gen.Sample(
            edits =>
            {
                var values = new Dictionary<int, long>();
                foreach (var (index, value) in edits)
                {
                    values[index] = value;
                }

                var i = 0;
                var mutated = Number().Replace(header, m => values.TryGetValue(i++, out var v) ? v.ToString() : m.Value);
                ParseOrRefuse(TestFiles.Build(mutated, Sample.Length - 8 - header.Length));
            },
            seed: "0N0XIzNsQ0O3",
            iter: 3000,
            threads: 1);
    }

    [Fact]
    public void A_mutated_file_on_disk_reads_back_inside_its_bounds()
    {
        var gen = Gen.Select(Gen.Int[8, Sample.Length - 1], Gen.Byte).Array[1, 4];
        gen.Sample(
            edits =>
            {
                var bytes = (byte[])Sample.Clone();
                foreach (var (position, value) in edits)
                {
                    bytes[position] = value;
                }

                var path = TestFiles.Write(bytes);
                try
                {
                    using var file = SafetensorsFile.Open(path);
                    foreach (var tensor in file.Tensors.Values.Where(t => SafetensorsDTypes.ConvertsToFloat32(t.DType)))
                    {
                        Assert.Equal(tensor.ElementCount, file.ReadFloat32(tensor.Name).Length);
                    }
                }
                catch (SafetensorsException)
                {
                }
                finally
                {
                    File.Delete(path);
                }
            },
            seed: "0N0XIzNsQ0O4",
            iter: 200,
            threads: 1);
    }

    private static void ParseOrRefuse(byte[] bytes)
    {
        SafetensorsHeader header;
        try
        {
            header = SafetensorsHeader.Parse("fuzz.safetensors", bytes, bytes.Length);
        }
        catch (SafetensorsException)
        {
            return;
        }

        foreach (var tensor in header.Tensors.Values)
        {
            Assert.InRange(tensor.Offset, header.DataStart, bytes.Length);
            Assert.InRange(tensor.ByteLength, 0, bytes.Length - tensor.Offset);
            Assert.Equal(tensor.ByteLength, tensor.Shape.Aggregate(1L, (a, d) => a * d) * SafetensorsDTypes.Size(tensor.DType));
        }
    }

    [GeneratedRegex("-?[0-9]+")]
    private static partial Regex Number();
}
