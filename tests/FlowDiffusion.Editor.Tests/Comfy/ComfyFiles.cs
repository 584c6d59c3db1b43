using System.Buffers.Binary;
using System.Text;
using FlowDiffusion.Comfy.Conversion;

namespace FlowDiffusion.Editor.Tests.Comfy;

/// <summary>ComfyUI files for the editor's open tests: the ComfyUI layer's own UI-format txt2img, and PNGs carrying it.</summary>
internal static class ComfyFiles
{
    /// <summary>The txt2img graph as ComfyUI's editor saves it (tests/FlowDiffusion.Comfy.Tests/TestData, linked).</summary>
    public static byte[] UiTxt2Img => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "comfy-txt2img-ui.json"));

    /// <summary>Where the checkout's ComfyUI names resolve (analytic-sd is under models/).</summary>
    public static ComfyFolders Folders { get; } = new(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-editor-no-comfy-input"));

    /// <summary>A 1×1 PNG with no text chunks, as any photo.</summary>
    public static byte[] PlainPng { get; } = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");

    /// <summary>
    /// <paramref name="png"/> with tEXt chunks after IHDR, as ComfyUI's SaveImage writes <c>prompt</c> and <c>workflow</c>.
    /// </summary>
    public static byte[] WithText(byte[] png, params (string Keyword, string Text)[] texts)
    {
        var headerEnd = 8 + 12 + BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(8));
        using var output = new MemoryStream();
        output.Write(png, 0, headerEnd);
        foreach (var (keyword, text) in texts)
        {
            var typed = Encoding.ASCII.GetBytes("tEXt").Concat(Encoding.Latin1.GetBytes(keyword)).Append((byte)0).Concat(Encoding.Latin1.GetBytes(text)).ToArray();
            var field = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(field, typed.Length - 4);
            output.Write(field);
            output.Write(typed);
            BinaryPrimitives.WriteUInt32BigEndian(field, Crc32(typed));
            output.Write(field);
        }
        output.Write(png, headerEnd, png.Length - headerEnd);
        return output.ToArray();
    }

    // PNG's CRC-32 (ISO 3309, reflected 0xEDB88320) over chunk type and data.
    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
        }
        return crc ^ 0xFFFFFFFFu;
    }
}
