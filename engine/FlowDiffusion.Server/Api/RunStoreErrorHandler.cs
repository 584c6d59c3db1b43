using FlowDiffusion.Server.Runs;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace FlowDiffusion.Server.Api;

/// <summary>A damaged run database answers 503 with what is wrong and how to recover, not a bare 500.</summary>
internal sealed class RunStoreErrorHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not RunStoreDamagedException damaged) return false;
        await Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Run database damaged", detail: damaged.Message)
            .ExecuteAsync(httpContext);
        return true;
    }
}
