namespace FlowDiffusion.Client;

/// <summary>A file a run wrote.</summary>
/// <param name="File">Its name inside the run's folder.</param>
/// <param name="Url">Where the API serves it (relative to the server's address).</param>
public sealed record RunOutput(string File, string Url);
