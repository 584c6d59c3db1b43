using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Server;

/// <summary>
/// The API-key rule applied to the addresses Kestrel actually bound, once it has: configuration is checked before
/// start (<see cref="ServerHost.BindingError"/>), but listeners can come from places that check cannot read
/// (<c>ASPNETCORE_URLS</c>, <c>HTTP_PORTS</c>, code that calls <c>Listen</c>). A non-loopback listener without an API key
/// (and without the explicit waiver) stops the server and fails its start with the same message.
/// </summary>
internal sealed class BoundAddressCheck(IServiceProvider services, IOptions<ServerOptions> options, BindingWaiver waiver) : IHostedLifecycleService
{
    /// <inheritdoc />
    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        // A host without a web server (a worker that only executes runs) has nothing bound.
        if (services.GetService<IServer>() is not { } server || server.Features.Get<IServerAddressesFeature>() is not { } feature) return;
        if (ServerHost.BindingError([.. feature.Addresses], options.Value.ApiKey, waiver.AllowWithoutApiKey) is not { } error) return;
        // Nothing may be served from that address: close the listeners before saying why.
        await server.StopAsync(cancellationToken);
        throw new InvalidOperationException("Bound " + error);
    }

    /// <inheritdoc />
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
