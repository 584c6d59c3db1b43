using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using SkiaSharp;

namespace FlowDiffusion.Server.Tests;

public sealed class UploadApiTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Uploads => Path.Combine(_folder.Path, "data", "uploads");

    public static TheoryData<SKEncodedImageFormat, string> Formats => new()
    {
        { SKEncodedImageFormat.Png, ".png" },
        { SKEncodedImageFormat.Jpeg, ".jpg" },
        { SKEncodedImageFormat.Webp, ".webp" },
    };

    /// <summary>Posts <paramref name="content"/> as the form's file field and returns the stored path.</summary>
    internal static async Task<string> UploadAsync(ApiHost host, byte[] content, string fileName)
    {
        using var response = await PostAsync(host, content, fileName, "image/png");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!["file"]!.GetValue<string>();
    }

    private static async Task<HttpResponseMessage> PostAsync(ApiHost host, byte[] content, string fileName, string contentType)
    {
        using var form = new MultipartFormDataContent();
        var part = new ByteArrayContent(content);
        part.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        form.Add(part, "file", fileName);
        return await host.Client.PostAsync("/api/uploads", form);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Image_is_stored_under_uploads_with_a_generated_name_and_its_type_from_its_content(SKEncodedImageFormat format, string extension)
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var image = Images.Solid(SKColors.Green, format);

        // The client's name and extension say nothing: the stored file takes the sniffed type's extension.
        var file = await UploadAsync(host, image, "picture.bin");

        Assert.True(Path.IsPathRooted(file), file);
        Assert.Equal(Uploads, Path.GetDirectoryName(file));
        Assert.Equal(extension, Path.GetExtension(file));
        Assert.Matches("^[0-9a-f]{32}$", Path.GetFileNameWithoutExtension(file));
        Assert.Equal(image, await File.ReadAllBytesAsync(file));
    }

    [Fact]
    public async Task Path_is_relative_to_the_working_folder_when_uploads_lie_inside_it()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path, ("FlowDiffusion:Server:WorkingFolder", _folder.Path), ("FlowDiffusion:DataFolder", "data"));

        var file = await UploadAsync(host, Images.Solid(SKColors.Blue), "mask.png");

        Assert.StartsWith("data/uploads/", file);
        Assert.True(File.Exists(Path.Combine(_folder.Path, file)));
    }

    [Fact]
    public async Task Client_file_name_with_traversal_never_reaches_the_file_system()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        var file = await UploadAsync(host, Images.Solid(SKColors.Red), "../../../escaped.png");

        Assert.Equal(Uploads, Path.GetDirectoryName(file));
        Assert.Empty(Directory.EnumerateFiles(_folder.Path, "escaped*", SearchOption.AllDirectories));
        Assert.Empty(Directory.EnumerateFiles(Path.GetTempPath(), "escaped.png"));
    }

    [Fact]
    public async Task Text_renamed_to_png_is_refused_as_unsupported_media_and_nothing_is_stored()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        using var response = await PostAsync(host, Encoding.UTF8.GetBytes("just some text pretending to be a picture"), "photo.png", "image/png");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(415, problem["status"]!.GetValue<int>());
        Assert.Contains("PNG, JPEG, WebP, GIF or BMP", problem["detail"]!.GetValue<string>());
        Assert.False(Directory.Exists(Uploads) && Directory.EnumerateFileSystemEntries(Uploads).Any());
    }

    [Theory]
    [InlineData(new byte[] { 0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0, 0, 0 })] // GIF89a: decodable, but not accepted
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47 })] // a PNG signature cut short
    [InlineData(new byte[] { 0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x57, 0x41, 0x56, 0x45 })] // RIFF but WAVE audio
    public async Task Other_formats_and_truncated_signatures_are_refused(byte[] content)
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        using var response = await PostAsync(host, content, "image.png", "image/png");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task Upload_over_the_size_limit_is_refused_and_nothing_is_stored()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path, ("FlowDiffusion:Server:MaxUploadBytes", "1024"));
        var image = new byte[4096];
        Images.Solid(SKColors.Red).AsSpan(0, 8).CopyTo(image);

        using var response = await PostAsync(host, image, "big.png", "image/png");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("1024", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["detail"]!.GetValue<string>());
        Assert.False(Directory.Exists(Uploads) && Directory.EnumerateFileSystemEntries(Uploads).Any());
    }

    [Fact]
    public async Task Body_far_over_the_limit_is_refused_before_it_is_read()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path, ("FlowDiffusion:Server:MaxUploadBytes", "1024"));
        var image = new byte[1 << 20];
        Images.Solid(SKColors.Red).AsSpan(0, 8).CopyTo(image);

        using var response = await PostAsync(host, image, "huge.png", "image/png");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Upload_larger_than_the_json_request_limit_but_within_the_upload_limit_is_accepted()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path, ("FlowDiffusion:Server:MaxRequestBytes", "4096"));
        var image = Images.Noise(300, seed: 7);
        Assert.True(image.Length > 4096 * 16, image.Length.ToString());

        var file = await UploadAsync(host, image, "large.png");

        Assert.Equal(image.Length, new FileInfo(file).Length);
    }

    [Fact]
    public async Task Request_without_a_form_is_unsupported_media()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        using var response = await host.Client.PostAsync("/api/uploads", new ByteArrayContent(Images.Solid(SKColors.Red)));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }
}
