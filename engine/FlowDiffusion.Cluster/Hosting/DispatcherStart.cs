using FlowDiffusion.Cluster.Dispatch;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FlowDiffusion.Cluster.Hosting;

/// <summary>Activates the dispatcher once the coordinator's silo runs, so its sweep (dead workers, expired leases) starts before any worker asks.</summary>
internal sealed class DispatcherStart(IGrainFactory grains, ILogger<DispatcherStart> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await grains.GetGrain<IDispatchGrain>(0).WakeAsync();
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning("The dispatcher is not up yet: {Error}", e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
        }
    }
}
