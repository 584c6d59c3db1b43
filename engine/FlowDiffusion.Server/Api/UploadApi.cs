using System.Text.Json.Nodes;
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

    public static async Task<IResult> UploadAsync(HttpRequest request, UploadStore uploads, IOptions<ServerOptions> options, CancellationToken cancellationToken)
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
        catch (InvalidDataException e)
        {
            return Problem(StatusCodes.Status400BadRequest, "Bad form upload", e.Message);
        }
        var file = form.Files.GetFile("file") ?? form.Files.FirstOrDefault();
        if (file is null) return Problem(StatusCodes.Status400BadRequest, "No file", "The form has no file; put the image in a field named 'file'.");
        if (file.Length > limit) return TooLarge(limit);

        await using var content = file.OpenReadStream();
        var header = new byte[ImageSignature.Length];
        var read = await content.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken);
        if (ImageSignature.ExtensionOf(header.AsSpan(0, read)) is not { } extension)
            return Problem(StatusCodes.Status415UnsupportedMediaType, "Not an image",
                $"'{Path.GetFileName(file.FileName)}' is not a PNG, JPEG or WebP image (checked by its content, not its name or type); convert it to one of those.");
        var saved = await uploads.SaveAsync(extension, header.AsMemory(0, read), content, cancellationToken);
        return TypedResults.Ok(new JsonObject { ["file"] = saved });
    }

    private static IResult TooLarge(long limit) => Problem(StatusCodes.Status413PayloadTooLarge, "Upload too large",
        $"Uploads are limited to {limit} bytes (FlowDiffusion:Server:MaxUploadBytes); send a smaller image.");

    private static IResult Problem(int status, string title, string detail) => TypedResults.Problem(statusCode: status, title: title, detail: detail);
}
