using System.Buffers.Binary;
using System.Globalization;
using FlowDiffusion.Tests.Shared;
using SkiaSharp;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.save_animated writes a batch of three different images as one file: an APNG whose chunks follow the APNG 1.0
/// specification (acTL, fcTL with consecutive sequence numbers shared with fdAT, valid CRCs) and whose every frame,
/// rebuilt as a still PNG from its own data, decodes through SkiaSharp (libpng) to exactly the saved pixels; an animated
/// WebP that SkiaSharp (libwebp's demuxer) reads as three frames of the right duration, exactly the pixels when lossless.
/// </summary>
public sealed class ImageSaveAnimatedTests
{
    private const int Width = 24, Height = 16;

    [Theory]
    [InlineData(4, 250, 1000)]
    [InlineData(3, 333, 1000)] // whole milliseconds, as ComfyUI's int(1000 / fps)
    [InlineData(0.01, 100, 1)] // 100 s does not fit 16-bit milliseconds: whole seconds
    public async Task Png_frames_decode_to_the_batch_with_the_delay_of_the_fps(double fps, int numerator, int denominator)
    {
        using var temp = new TempFolder();
        var run = await RunAsync(temp, $"format: png, fps: {fps.ToString(CultureInfo.InvariantCulture)}, compress_level: 9");
        var path = Assert.Single(Assert.IsType<string[]>(run.Result.Output("save", "files")));
        Assert.EndsWith(".png", path);
        var chunks = SavedChunks.Png(File.ReadAllBytes(path));
        Assert.Equal(["IHDR", "tEXt", "tEXt", "acTL", "fcTL", "IDAT", "fcTL", "fdAT", "fcTL", "fdAT", "IEND"], chunks.Select(c => c.Type));
        Assert.Equal((3, 0), (BinaryPrimitives.ReadInt32BigEndian(chunks[3].Data), BinaryPrimitives.ReadInt32BigEndian(chunks[3].Data.AsSpan(4))));
        var sequence = 0u;
        var frames = new List<byte[]>();
        foreach (var chunk in chunks.Where(c => c.Type is "fcTL" or "fdAT" or "IDAT"))
        {
            var data = chunk.Data;
            if (chunk.Type == "IDAT")
            {
                frames.Add(data);
                continue;
            }
            Assert.Equal(sequence++, BinaryPrimitives.ReadUInt32BigEndian(data));
            if (chunk.Type == "fdAT")
            {
                frames.Add(data[4..]);
                continue;
            }
            Assert.Equal((Width, Height, 0, 0), (BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4)), BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(8)),
                BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(12)), BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(16))));
            Assert.Equal((numerator, denominator), (BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(20)), BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(22))));
        }
        Assert.Equal(5u, sequence);
        Assert.Contains("image.save_animated", PngChunks.Read(path).Text["flowdiffusion.workflow"]);
        for (var i = 0; i < 3; i++)
        {
            using var still = new MemoryStream();
            still.Write([137, 80, 78, 71, 13, 10, 26, 10]);
            TestPng.Chunk(still, "IHDR", chunks[0].Data);
            TestPng.Chunk(still, "IDAT", frames[i]);
            TestPng.Chunk(still, "IEND", []);
            using var bitmap = SKBitmap.Decode(still.ToArray());
            AssertFrame(bitmap, i, tolerance: 0);
        }
    }

    [Fact]
    public async Task Png_compress_level_0_stores_and_9_compresses_the_same_frames()
    {
        using var temp = new TempFolder();
        var stored = Assert.Single(Assert.IsType<string[]>((await RunAsync(temp, "format: png, compress_level: 0")).Result.Output("save", "files")));
        var compressed = Assert.Single(Assert.IsType<string[]>((await RunAsync(temp, "format: png, compress_level: 9")).Result.Output("save", "files")));
        Assert.NotEqual(stored, compressed);
        // Stored: at least the raw scanlines of three frames (1 + 3 × width bytes a row); level 9 a good deal less.
        Assert.True(new FileInfo(stored).Length > 3 * Height * (1 + 3 * Width), $"{new FileInfo(stored).Length}");
        Assert.True(new FileInfo(compressed).Length < new FileInfo(stored).Length / 2, $"{new FileInfo(compressed).Length} vs {new FileInfo(stored).Length}");
    }

    [Theory]
    [InlineData(true, 0)]
    [InlineData(false, 40)]
    public async Task Webp_is_three_frames_of_the_fps_duration_exact_when_lossless(bool lossless, int tolerance)
    {
        using var temp = new TempFolder();
        var run = await RunAsync(temp, $"format: webp, fps: 3, lossless: {lossless.ToString().ToLowerInvariant()}, quality: 90");
        var path = Assert.Single(Assert.IsType<string[]>(run.Result.Output("save", "files")));
        Assert.EndsWith(".webp", path);
        var file = File.ReadAllBytes(path);
        Assert.Equal((uint)file.Length - 8, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(4)));
        using var codec = SKCodec.Create(new MemoryStream(file));
        Assert.Equal(SKEncodedImageFormat.Webp, codec.EncodedFormat);
        Assert.Equal(3, codec.FrameCount);
        Assert.Equal(-1, codec.RepetitionCount); // forever
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(333, codec.FrameInfo[i].Duration);
            using var bitmap = new SKBitmap(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
            Assert.Equal(SKCodecResult.Success, codec.GetPixels(bitmap.Info, bitmap.GetPixels(), new SKCodecOptions(i)));
            AssertFrame(bitmap, i, tolerance);
        }
    }

    [Fact]
    public async Task A_webp_wider_than_16383_pixels_fails_naming_the_images_and_png()
    {
        var run = await SdEngine.Shared.RunYamlAsync("""
            flowdiffusion: 1
            name: wide
            nodes:
              wide: { node: image.empty, with: { width: 16384, height: 1 } }
              save: { node: image.save_animated, in: { images: wide.image }, with: { format: webp } }
            """, new Dictionary<string, object?>());
        run.AssertFailed("save", "images: 16384×1", "16383", "png");
    }

    // Frame i: a gradient that moves with i, so every frame and every pixel differs.
    private static (byte R, byte G, byte B) Pixel(int i, int x, int y) => ((byte)(8 * x + 30 * i), (byte)(15 * y), (byte)(200 - 60 * i + x));

    private static void AssertFrame(SKBitmap bitmap, int i, int tolerance)
    {
        Assert.Equal((Width, Height), (bitmap.Width, bitmap.Height));
        var worst = 0;
        for (var y = 0; y < Height; y++)
        for (var x = 0; x < Width; x++)
        {
            var (r, g, b) = Pixel(i, x, y);
            var actual = bitmap.GetPixel(x, y);
            worst = Math.Max(worst, Math.Max(Math.Abs(actual.Red - r), Math.Max(Math.Abs(actual.Green - g), Math.Abs(actual.Blue - b))));
        }
        Assert.True(worst <= tolerance, $"frame {i}: a pixel is {worst} levels off");
    }

    internal static async Task<SdRun> RunAsync(TempFolder temp, string settings)
    {
        var files = Enumerable.Range(0, 3).Select(i =>
        {
            var file = Path.Combine(temp.Path, $"frame{i}.png");
            TestPng.WriteRgb(file, Width, Height, (x, y) => Pixel(i, x, y));
            return file.Replace('\\', '/');
        }).ToArray();
        return (await SdEngine.Shared.RunYamlAsync($$"""
            flowdiffusion: 1
            name: animated
            nodes:
              f0: { node: image.load, with: { path: "{{files[0]}}" } }
              f1: { node: image.load, with: { path: "{{files[1]}}" } }
              f2: { node: image.load, with: { path: "{{files[2]}}" } }
              b01: { node: image.batch, in: { image1: f0.image, image2: f1.image } }
              b012: { node: image.batch, in: { image1: b01.batched, image2: f2.image } }
              save: { node: image.save_animated, in: { images: b012.batched }, with: { {{settings}} } }
            """, new Dictionary<string, object?>())).AssertCompleted();
    }
}
