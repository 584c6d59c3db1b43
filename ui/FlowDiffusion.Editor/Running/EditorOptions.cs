namespace FlowDiffusion.Editor.Running;

/// <summary>
/// Settings of the editor itself, bound from <c>FlowDiffusion:Editor</c> (<c>--server</c> and <c>--api-key</c> on its
/// command line, <c>FLOWDIFFUSION_FlowDiffusion__Editor__Server</c> in the environment).
/// </summary>
public sealed class EditorOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "FlowDiffusion:Editor";

    /// <summary>
    /// A FlowDiffusion server (<c>flowdiffusion serve</c>, a cluster's coordinator) to queue runs on and read history
    /// from, e.g. <c>http://gpu-box:8188</c>; null: runs execute in the editor's own process (the default).
    /// </summary>
    public string? Server { get; set; }

    /// <summary>That server's API key, sent in the <c>X-Api-Key</c> header.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The command-line switches the editor maps onto these settings.</summary>
    public static IDictionary<string, string> Switches { get; } = new Dictionary<string, string>
    {
        ["--server"] = Section + ":Server",
        ["--api-key"] = Section + ":ApiKey",
    };
}
