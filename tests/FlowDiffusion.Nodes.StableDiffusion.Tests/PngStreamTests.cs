using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.save compresses large images in pieces on several cores; the file must still hold one valid zlib stream:
/// read here straight from the format (IDAT data inflated by .NET's zlib, which checks the Adler-32 trailer).
/// </summary>
public sealed class PngStreamTests
{
    // 1024×768 RGB is 2.3 MB of scanlines: several pieces on any machine with more than one core.
    private const string NoiseYaml = """
        flowdiffusion: 1
        name: big-noise
        nodes:
          noise: { node: latent.noise, with: { seed: 3, width: 1024, height: 768 } }
          preview: { node: latent.preview, in: { latent: noise.noise } }
          save: { node: image.save, in: { images: preview.image }, with: { prefix: pieces } }
        """;

    [Fact]
    public async Task Large_png_holds_one_zlib_stream_with_every_pixel_and_a_valid_checksum()
    {
        using var engine = new SdEngine();
        var run = (await engine.RunYamlAsync(NoiseYaml, new Dictionary<string, object?>())).AssertCompleted();
        var image = Assert.IsType<Image>(run.Result.Output("preview", "image"));
        var file = Assert.Single(run.Result.OutputFiles);

        var scanlines = Inflate(Idat(File.ReadAllBytes(file)));

        const int width = 1024, height = 768, stride = 1 + 3 * width;
        Assert.Equal(height * stride, scanlines.Length);
        var previous = new byte[3 * width];
        for (var y = 0; y < height; y++)
        {
            var line = scanlines.AsSpan(y * stride, stride);
            Assert.True(line[0] is 0 or 2, $"row {y} uses filter {line[0]}");
            var row = new byte[3 * width];
            for (var i = 0; i < row.Length; i++) row[i] = (byte)(line[1 + i] + (line[0] == 2 ? previous[i] : 0));
            for (var x = 0; x < width; x++)
            for (var c = 0; c < 3; c++)
            {
                var expected = (byte)Math.Clamp(MathF.Round(image.Pixels[c * width * height + y * width + x] * 255f, MidpointRounding.ToEven), 0, 255);
                if (row[3 * x + c] != expected) Assert.Fail($"pixel ({x}, {y}) channel {c}: {row[3 * x + c]}, expected {expected}");
            }
            previous = row;
        }
    }

    [Fact]
    public async Task A_wrong_checksum_would_be_caught()
    {
        // The test above relies on the inflater checking the trailer; show that it does.
        using var engine = new SdEngine();
        var run = (await engine.RunYamlAsync(NoiseYaml, new Dictionary<string, object?>())).AssertCompleted();
        var stream = Idat(File.ReadAllBytes(Assert.Single(run.Result.OutputFiles)));
        stream[^1] ^= 1;

        Assert.ThrowsAny<InvalidDataException>(() => Inflate(stream));
    }

    // The IDAT chunks' data, concatenated: the zlib stream.
    private static byte[] Idat(byte[] png)
    {
        var stream = new MemoryStream();
        for (var offset = 8; offset + 8 <= png.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            if (Encoding.ASCII.GetString(png, offset + 4, 4) == "IDAT") stream.Write(png, offset + 8, length);
            offset += 12 + length;
        }
        return stream.ToArray();
    }

    private static byte[] Inflate(byte[] zlib)
    {
        using var inflate = new ZLibStream(new MemoryStream(zlib), CompressionMode.Decompress);
        using var result = new MemoryStream();
        inflate.CopyTo(result);
        return result.ToArray();
    }
}
