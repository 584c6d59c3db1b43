using System.Net;
using System.Text;
using CsCheck;
using FlowDiffusion.Testing;

namespace FlowDiffusion.Server.Tests.Security;

/// <summary>
/// Property-based fuzzing of multipart parsing on the upload route: bodies assembled from multipart's own pieces
/// (boundaries, part headers, CRLFs, image bytes) are answered with a 4xx or a 200, never a 500, and the server lives on.
/// </summary>
public sealed class MultipartFuzzTests : IDisposable
{
    private static readonly string[] Pieces =
    [
        "--b", "--b--", "\r\n", "\r\n\r\n", "Content-Disposition: form-data; name=\"file\"; filename=\"a.png\"", "Content-Disposition: form-data",
        "Content-Type: image/png", "name=\"file\"", "filename*=UTF-8''%E2%82%AC.png", ";", "\"", "--", "-", "b", "\n", "\u00ff", "\0",
        "Content-Length: 99999999", "\x89PNG\r\n\x1a\n", "RIFF\0\0\0\0WEBPVP8X",
    ];

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Fuzz_multipart_bodies_are_never_a_server_error()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var bodies = Gen.Int[0, Pieces.Length - 1].Array[0, 40].Select(ix => string.Concat(ix.Select(i => Pieces[i])));
        var failures = new List<string>();

        await bodies.SampleAsync(async body =>
        {
            var content = new ByteArrayContent(Encoding.Latin1.GetBytes(body));
            content.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=b");
            using var response = await host.Client.PostAsync("/api/uploads", content);
            if ((int)response.StatusCode >= 500) failures.Add($"{(int)response.StatusCode} for {body.Replace("\r\n", "⏎", StringComparison.Ordinal)}");
        }, iter: FuzzIterations.Count(300), threads: 1);

        Assert.Empty(failures);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/api/health")).StatusCode);
    }
}
