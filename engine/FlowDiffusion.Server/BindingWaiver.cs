namespace FlowDiffusion.Server;

/// <summary>
/// Whether this host may serve non-loopback addresses without an API key: only <c>serve --insecure-no-api-key</c> sets it,
/// in code (never from configuration, so a settings file cannot open the server).
/// </summary>
/// <param name="AllowWithoutApiKey">The explicit waiver.</param>
public sealed record BindingWaiver(bool AllowWithoutApiKey);
