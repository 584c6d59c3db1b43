using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Imaging;
using FlowDiffusion.Server.Uploads;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Server.Api;

/// <summary><c>POST /api/uploads</c>: an image or mask for a workflow input, checked for size and sniffed for its real type.</summary>
internal static class UploadApi
{
    /// <summary>Room for the multipart boundaries and part headers around the file itself.</summary>
    private const long FormOverhead = 64 << 10;

    public static async Task<IResult> UploadAsync(HttpRequest request, UploadStore uploads, IOptions<ServerOptions> options, IOptions<FlowDiffusionOptions> engine,
        CancellationToken cancellationToken)
    {
        var limit = options.Value.MaxUploadBytes;
        // The host-wide body limit is sized for JSON; an upload gets its own, slightly above the file limit.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = limit + FormOverhead;
        if (!request.HasFormContentType)
            return Problem(StatusCodes.Status415UnsupportedMediaType, "Not a form upload", "Send multipart/form-data with the image in a field named 'file'.");
        if (request.ContentLength > limit + FormOverhead) return TooLarge(limit);

        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(cancellationToken);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(limit);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or BadHttpRequestException or FormatException)
        {
            return Problem(StatusCodes.Status400BadRequest, "Bad form upload", $"The multipart/form-data body could not be read: {e.Message}");
        }
        var file = form.Files.GetFile("file") ?? form.Files.FirstOrDefault();
        if (file is null) return Problem(StatusCodes.Status400BadRequest, "No file", "The form has no file; put the image in a field named 'file'.");
        if (file.Length > limit) return TooLarge(limit);

        var bytes = new byte[file.Length];
        await using (var content = file.OpenReadStream())
            await content.ReadExactlyAsync(bytes, cancellationToken);
        // The header is checked against the image limits before anything decodes it; then it must decode in full, so a
        // file that merely starts like an image (a 3-byte "JPEG") is refused here, not in a run.
        var name = Path.GetFileName(file.FileName);
        var limits = ImageLimitsOf(engine.Value, limit);
        ImageHeaderInfo header;
        try
        {
            header = ImageFile.Check(bytes, name, limits);
            RgbaPixels.Decode(bytes, name, limits: limits).Dispose();
        }
        catch (InvalidDataException e)
        {
            return Problem(StatusCodes.Status415UnsupportedMediaType, "Not a usable image", e.Message + ".");
        }
        var saved = await uploads.SaveAsync(header.Extension, bytes, Stream.Null, cancellationToken);
        return TypedResults.Ok(new JsonObject { ["file"] = saved });
    }

    public static IResult Delete(string name, UploadStore uploads) => uploads.Delete(name)
        ? TypedResults.NoContent()
        : Problem(StatusCodes.Status404NotFound, "Not found", $"No upload '{name}'; give the file name POST /api/uploads returned.");

    private static ImageLimits ImageLimitsOf(FlowDiffusionOptions engine, long maxBytes) => new()
    {
        MaxPixels = engine.MaxImagePixels,
        MaxDimension = engine.MaxImageDimension,
        MaxFileBytes = maxBytes,
    };

    private static IResult TooLarge(long limit) => Problem(StatusCodes.Status413PayloadTooLarge, "Upload too large",
        $"Uploads are limited to {limit} bytes (FlowDiffusion:Server:MaxUploadBytes); send a smaller image.");

    private static IResult Problem(int status, string title, string detail) => TypedResults.Problem(statusCode: status, title: title, detail: detail);
}
