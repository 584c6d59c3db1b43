using System.Net;
using System.Net.Http.Headers;
using System.Text;
using FlowDiffusion.Imaging.Tests;
using SkiaSharp;

namespace FlowDiffusion.Server.Tests.Security;

/// <summary>Uploads: content must decode within the image limits; uploads can be deleted and expire; bad bodies are 400s.</summary>
public sealed class UploadSecurityTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Uploads => Path.Combine(_folder.Path, "data", "uploads");

    public static TheoryData<string, byte[]> Bombs => new()
    {
        { "bomb.png", ImageBombs.Png(32768, 32768) },
        { "bomb.jpg", ImageBombs.Jpeg(65535, 65535) },
        { "bomb.webp", ImageBombs.WebP(1 << 24, 1 << 24) },
        { "bomb.gif", ImageBombs.Gif(65535, 65535) },
        { "bomb.bmp", ImageBombs.Bmp(int.MaxValue, int.MaxValue) },
        { "16384.png", ImageBombs.Png(16384, 16384) },
    };

    [Theory]
    [MemberData(nameof(Bombs))]
    public async Task Image_declaring_more_pixels_than_the_limit_is_refused_from_its_header(string name, byte[] file)
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        using var response = await PostFileAsync(host, file, name);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Contains("FlowDiffusion:MaxImage", await response.Content.ReadAsStringAsync());
        Assert.False(Directory.Exists(Uploads) && Directory.EnumerateFileSystemEntries(Uploads).Any());
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF })]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 8, 0, 0, 0, 8 })]
    public async Task File_that_only_starts_like_an_image_is_refused(byte[] file)
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        using var response = await PostFileAsync(host, file, "fake.jpg");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.False(Directory.Exists(Uploads) && Directory.EnumerateFileSystemEntries(Uploads).Any());
    }

    [Fact]
    public async Task Upload_can_be_deleted_by_its_name_and_only_uploads_can()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var file = await UploadApiTests.UploadAsync(host, Images.Solid(SKColors.Green), "green.png");
        var name = Path.GetFileName(file);

        using (var deleted = await host.Client.DeleteAsync($"/api/uploads/{name}")) Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.False(File.Exists(Path.Combine(Uploads, name)));
        using (var again = await host.Client.DeleteAsync($"/api/uploads/{name}")) Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        File.WriteAllText(Path.Combine(_folder.Path, "data", "keep.txt"), "x");
        using (var other = await host.Client.DeleteAsync("/api/uploads/..%2Fkeep.txt")) Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.True(File.Exists(Path.Combine(_folder.Path, "data", "keep.txt")));
    }

    [Fact]
    public async Task Uploads_older_than_the_retention_are_deleted_when_new_ones_arrive()
    {
        string oldPath;
        // One process owns a run database at a time, so the first host stops before the next starts on the folder.
        await using (var host = await ApiHost.StartAsync(_folder.Path, ("FlowDiffusion:Server:UploadRetentionDays", "1")))
        {
            var old = await UploadApiTests.UploadAsync(host, Images.Solid(SKColors.Red), "old.png");
            oldPath = Path.Combine(Uploads, Path.GetFileName(old));
        }
        File.SetLastWriteTimeUtc(oldPath, DateTime.UtcNow.AddDays(-2));
        await using var next = await ApiHost.StartAsync(_folder.Path, ("FlowDiffusion:Server:UploadRetentionDays", "1"));

        var fresh = await UploadApiTests.UploadAsync(next, Images.Solid(SKColors.Blue), "new.png");

        Assert.False(File.Exists(oldPath));
        Assert.True(File.Exists(Path.Combine(Uploads, Path.GetFileName(fresh))));
    }

    [Theory]
    [InlineData("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nabc")]
    [InlineData("garbage without any boundary")]
    [InlineData("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n")]
    [InlineData("--b\r\n\r\n\r\n--b--\r\n")]
    public async Task Malformed_multipart_body_is_a_400(string body)
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var content = new StringContent(body, Encoding.Latin1);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=b");

        using var response = await host.Client.PostAsync("/api/uploads", content);

        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.UnsupportedMediaType, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    internal static async Task<HttpResponseMessage> PostFileAsync(ApiHost host, byte[] content, string fileName)
    {
        using var form = new MultipartFormDataContent();
        var part = new ByteArrayContent(content);
        part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(part, "file", fileName);
        return await host.Client.PostAsync("/api/uploads", form);
    }
}
