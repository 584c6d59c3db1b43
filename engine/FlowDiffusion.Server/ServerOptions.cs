namespace FlowDiffusion.Server;

/// <summary>Settings of the HTTP API, bound from <c>FlowDiffusion:Server</c>.</summary>
public sealed class ServerOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "FlowDiffusion:Server";

    /// <summary>The default address: loopback only.</summary>
    public const string DefaultUrl = "http://127.0.0.1:8188";

    /// <summary>When set, every request except <c>/api/health</c> must carry it in the <c>X-Api-Key</c> header.</summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// Host names (the <c>Host</c> header) served besides loopback ones when no API key is set; "*" allows any. Guards a
    /// key-less server against DNS rebinding.
    /// </summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>Browser origins (<c>https://tool.example</c>) allowed to send state-changing requests besides the server's own.</summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>Uploads older than this many days are deleted; 0 keeps them forever (default 7).</summary>
    public double UploadRetentionDays { get; set; } = 7;

    /// <summary>
    /// Whether this host executes runs itself (the embedded backend). A cluster coordinator turns it off: its workers
    /// execute runs, and its dispatcher owns the leases, so this host neither claims nor recovers runs at start-up.
    /// </summary>
    public bool ExecuteRuns { get; set; } = true;

    /// <summary>
    /// A saved workflow (its name in the workflows folder) run once at start, before the queue's first run and off the
    /// record, so the first request finds its models loaded and warm (<see cref="Runs.WarmUp"/>); none by default.
    /// </summary>
    public string? WarmUp { get; set; }

    /// <summary>Input values for the warm-up workflow by name, as text (<c>FlowDiffusion:Server:WarmUpInputs:width=768</c>).</summary>
    public Dictionary<string, string> WarmUpInputs { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// How the ComfyUI layer's samplers make live previews, as ComfyUI's <c>--preview-method</c>: <c>latent2rgb</c> (the
    /// default: the linear approximation at latent size), <c>taesd</c> or <c>auto</c> (both: TAESD's decode at full size
    /// when <c>models/vae_approx</c> holds the family's <c>taesd_decoder</c> or <c>taesdxl_decoder</c>, else the approximation).
    /// </summary>
    public string PreviewMethod { get; set; } = "latent2rgb";

    /// <summary>How many runs execute at once on this host (one device by default).</summary>
    public int MaxConcurrentRuns { get; set; } = 1;

    /// <summary>The largest request body accepted, in bytes.</summary>
    public long MaxRequestBytes { get; set; } = 2 << 20;

    /// <summary>The most runs one page of <c>GET /api/runs</c> returns.</summary>
    public int MaxPageSize { get; set; } = 200;

    /// <summary>
    /// The folder that relative paths resolve against: the host's folders (plugins, models, workflows, outputs, data)
    /// and path inputs of runs (a model folder, an image). Null: the current directory.
    /// </summary>
    public string? WorkingFolder { get; set; }

    /// <summary>The largest upload accepted by <c>POST /api/uploads</c>, in bytes.</summary>
    public long MaxUploadBytes { get; set; } = 20 << 20;

    /// <summary>Finished runs older than this many days are deleted with their files; 0 keeps them forever.</summary>
    public double RetentionDays { get; set; }

    /// <summary>At most this many finished runs are kept (the oldest go first); 0 means no limit.</summary>
    public int MaxRuns { get; set; }

    /// <summary>How often the retention sweep runs, in seconds.</summary>
    public double RetentionSweepSeconds { get; set; } = 600;

    /// <summary>How long a run's claim (lease) lasts without a heartbeat, in seconds; the worker renews it every third of that.</summary>
    public double LeaseSeconds { get; set; } = 60;

    /// <summary>
    /// How many attempts a run gets when its worker stops heartbeating (a hung or vanished worker: its lease expires and
    /// the run is re-queued); after the last it ends interrupted, naming the worker. Default 3.
    /// </summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The most bytes of run JSON one page of <c>GET /api/runs</c> returns; the page ends early (with <c>next_offset</c>) beyond it.</summary>
    public int MaxPageBytes { get; set; } = 1 << 20;

    /// <summary>Inputs longer than this (characters of JSON) are left out of run lists; <c>GET /api/runs/{id}</c> has them.</summary>
    public int MaxListedInputsChars { get; set; } = 4096;

    /// <summary>The most event streams (<c>/api/runs/{id}/events</c>) open at once, over all clients.</summary>
    public int MaxEventStreams { get; set; } = 512;

    /// <summary>The most event streams one client address may hold open at once.</summary>
    public int MaxEventStreamsPerClient { get; set; } = 32;

    /// <summary>How many events a subscriber may fall behind by before its oldest are dropped (bounds a slow client's memory).</summary>
    public int EventQueueLength { get; set; } = 1024;
}
