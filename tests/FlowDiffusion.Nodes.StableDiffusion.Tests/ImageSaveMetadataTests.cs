using System.Text;
using FlowDiffusion.Tests.Shared;
using SkiaSharp;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// The save nodes' <c>metadata</c> entries land where ComfyUI puts its prompt and workflow, so ComfyUI (and any reader
/// of those places) finds them: image.save's PNG in text chunks before the pixels, tEXt for Latin-1 text and iTXt
/// otherwise, as Pillow's <c>add_text</c>; the APNG the same way (not in SaveAnimatedPNG's <c>comf</c> chunks, which
/// libpng refuses: the APNG still decodes through SkiaSharp); the animated WebP in an EXIF chunk after the frames, flagged in VP8X, <c>prompt:…</c> in tag 0x0110 and the others from
/// 0x010f down, as SaveAnimatedWEBP — followed by our workflow and inputs. Keys a PNG cannot hold, and more entries than
/// WebP's tags allow, fail before a file is written, naming the parameter.
/// </summary>
public sealed class ImageSaveMetadataTests
{
    // JSON text as the ComfyUI layer passes it: the prompt and the workflow as json.dumps text, and one non-Latin-1 entry.
    private const string Metadata = """'{"prompt": "{\"1\": 2}", "workflow": "{\"n\": []}", "note": "π ü"}'""";

    [Fact]
    public async Task A_png_carries_the_entries_in_text_chunks_before_its_pixels()
    {
        using var temp = new TempFolder();
        var run = (await SdEngine.Shared.RunYamlAsync($$"""
            flowdiffusion: 1
            name: meta
            nodes:
              image: { node: image.empty, with: { width: 8, height: 4, color: 4227327 } }
              save: { node: image.save, in: { images: image.image }, with: { prefix: meta, metadata: {{Metadata}} } }
            """, new Dictionary<string, object?>())).AssertCompleted();
        var file = File.ReadAllBytes(Assert.Single(Assert.IsType<string[]>(run.Result.Output("save", "files"))));
        var chunks = SavedChunks.Png(file);
        // The workflow YAML holds the metadata, π included: iTXt too.
        Assert.Equal(["IHDR", "tEXt", "tEXt", "iTXt", "iTXt", "tEXt", "IDAT", "IEND"], chunks.Select(c => c.Type));
        Assert.Equal("prompt\0{\"1\": 2}", Encoding.Latin1.GetString(chunks[1].Data));
        Assert.Equal("workflow\0{\"n\": []}", Encoding.Latin1.GetString(chunks[2].Data));
        Assert.Equal("note\0\0\0\0\0π ü", Encoding.UTF8.GetString(chunks[3].Data)); // flag 0, method 0, no language, no translation
        Assert.StartsWith("flowdiffusion.workflow\0", Encoding.Latin1.GetString(chunks[4].Data));
        Assert.StartsWith("flowdiffusion.inputs\0", Encoding.Latin1.GetString(chunks[5].Data));
        using var bitmap = SKBitmap.Decode(file);
        Assert.All(bitmap.Pixels, p => Assert.Equal(0xFF4080FFu, (uint)p));
    }

    [Fact]
    public async Task An_apng_carries_the_entries_in_text_chunks_before_its_frames_and_still_decodes()
    {
        using var temp = new TempFolder();
        var run = await ImageSaveAnimatedTests.RunAsync(temp, $"format: png, metadata: {Metadata}");
        var file = File.ReadAllBytes(Assert.Single(Assert.IsType<string[]>(run.Result.Output("save", "files"))));
        var chunks = SavedChunks.Png(file);
        Assert.Equal(["IHDR", "tEXt", "tEXt", "iTXt", "iTXt", "tEXt", "acTL", "fcTL", "IDAT", "fcTL", "fdAT", "fcTL", "fdAT", "IEND"], chunks.Select(c => c.Type));
        Assert.Equal("prompt\0{\"1\": 2}", Encoding.Latin1.GetString(chunks[1].Data));
        Assert.Equal("workflow\0{\"n\": []}", Encoding.Latin1.GetString(chunks[2].Data));
        Assert.Equal("note\0\0\0\0\0π ü", Encoding.UTF8.GetString(chunks[3].Data));
        using var still = SKBitmap.Decode(file);
        Assert.NotNull(still);
    }

    [Fact]
    public async Task A_webp_carries_the_entries_as_exif_text_after_its_frames()
    {
        using var temp = new TempFolder();
        var run = await ImageSaveAnimatedTests.RunAsync(temp, $"format: webp, metadata: {Metadata}");
        var file = File.ReadAllBytes(Assert.Single(Assert.IsType<string[]>(run.Result.Output("save", "files"))));
        var chunks = SavedChunks.Riff(file);
        Assert.Equal(["VP8X", "ANIM", "ANMF", "ANMF", "ANMF", "EXIF"], chunks.Select(c => c.Type));
        Assert.Equal(0x02 | 0x08, chunks[0].Data[0]); // animation, EXIF; no alpha
        var exif = SavedChunks.ExifAscii(chunks[^1].Data);
        Assert.Equal([0x010c, 0x010d, 0x010e, 0x010f, 0x0110], exif.Keys.Order().Select(k => (int)k));
        Assert.Equal("prompt:{\"1\": 2}", exif[0x0110]);
        Assert.Equal("workflow:{\"n\": []}", exif[0x010f]);
        Assert.Equal("note:π ü", exif[0x010e]);
        Assert.StartsWith("flowdiffusion.workflow:flowdiffusion: 1", exif[0x010d]);
        Assert.Contains("image.save_animated", exif[0x010d]);
        Assert.StartsWith("flowdiffusion.inputs:", exif[0x010c]);
        using var codec = SKCodec.Create(new MemoryStream(file));
        Assert.Equal(3, codec.FrameCount);
    }

    [Theory]
    [InlineData("image.save", "{ metadata: '{\"\": \"x\"}' }", "key ''")]
    [InlineData("image.save", "{ metadata: '{\"a\\u0001b\": \"x\"}' }", "Latin-1")]
    [InlineData("image.save_animated", "{ format: png, metadata: '{\"ключ\": \"x\"}' }", "key 'ключ'")]
    [InlineData("image.save_animated", "{ format: webp, metadata: '{\"a\": \"1\", \"b\": \"2\", \"c\": \"3\", \"d\": \"4\", \"e\": \"5\", \"f\": \"6\", \"g\": \"7\", \"h\": \"8\", \"i\": \"9\", \"j\": \"10\", \"k\": \"11\", \"l\": \"12\", \"m\": \"13\", \"n\": \"14\"}' }", "png")]
    public async Task Entries_a_file_cannot_hold_fail_naming_metadata_before_writing(string node, string with, string text)
    {
        var run = await SdEngine.Shared.RunYamlAsync($$"""
            flowdiffusion: 1
            name: bad
            nodes:
              image: { node: image.empty, with: { width: 8, height: 4 } }
              save: { node: {{node}}, in: { images: image.image }, with: {{with}} }
            """, new Dictionary<string, object?>());
        run.AssertFailed("save", "metadata", text);
        Assert.Empty(run.Result.OutputFiles);
    }
}
