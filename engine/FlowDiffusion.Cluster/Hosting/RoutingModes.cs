namespace FlowDiffusion.Cluster.Hosting;

/// <summary>The values of <see cref="ScaleOutOptions.Routing"/>.</summary>
public static class RoutingModes
{
    /// <summary>Model affinity and demand (<see cref="Routing.ClaimPolicy"/>).</summary>
    public const string Affinity = "affinity";

    /// <summary>Each free slot takes the oldest run it can serve, whatever model it has loaded: the baseline affinity is measured against.</summary>
    public const string RoundRobin = "round-robin";
}
