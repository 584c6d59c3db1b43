namespace FlowDiffusion.Cluster.Dispatch;

/// <summary>
/// A worker slot's id, which is also the lease owner of what it claims: <c>silo|worker|slot</c>. The silo part lets
/// the dispatcher find the runs of a silo that membership declared dead.
/// </summary>
public static class WorkerId
{
    /// <summary>The id of slot <paramref name="slot"/> of worker <paramref name="worker"/> on silo <paramref name="silo"/>.</summary>
    public static string Of(string silo, string worker, int slot) => $"{silo}|{worker}|{slot}";

    /// <summary>The silo part of a slot id (the whole id when it has none).</summary>
    public static string Silo(string id) => id.Split('|')[0];
}
