using FlowDiffusion.Sdk.Values;
using Microsoft.Extensions.Logging;

namespace FlowDiffusion.Sdk;

/// <summary>What the engine gives a node while it executes.</summary>
public interface INodeContext
{
    /// <summary>The node's id in the workflow.</summary>
    string NodeId { get; }

    /// <summary>The id of the run this execution belongs to.</summary>
    string RunId { get; }

    /// <summary>A logger scoped to this node.</summary>
    ILogger Logger { get; }

    /// <summary>Host services (model session cache, output folder, …) a node may ask for by type.</summary>
    IServiceProvider Services { get; }

    /// <summary>The workflow being run, for nodes that record it (image.save embeds it in PNGs).</summary>
    WorkflowInfo Workflow { get; }

    /// <summary>Objects this node's plugin shares across runs (session caches and the like).</summary>
    IResourceStore Resources { get; }

    /// <summary>Where files written by this run go (absolute path; it exists).</summary>
    string OutputDirectory { get; }

    /// <summary>The folder relative paths in parameters (models, images) are resolved against.</summary>
    string WorkingDirectory { get; }

    /// <summary>Bounds on what the node may read (image sizes, file sizes, prompt length).</summary>
    InputLimits Limits => InputLimits.Default;

    /// <summary>
    /// Resolves a file or folder named by one of the node's parameters, the one way nodes turn a path parameter into a
    /// path they open: relative paths are taken against <see cref="WorkingDirectory"/>, symbolic links are followed, and
    /// a host that restricts inputs (the server and the editor: <c>FlowDiffusion:InputFolders</c>) refuses a path that
    /// ends up outside its input folders, with a message naming the parameter that does not tell whether the path exists.
    /// </summary>
    /// <param name="parameter">The parameter's name as workflows write it (e.g. <c>path</c>), for messages.</param>
    /// <param name="path">The parameter's value.</param>
    /// <returns>The absolute path to open.</returns>
    /// <exception cref="UnauthorizedAccessException">The path is outside the folders this host reads inputs from.</exception>
    string ResolveInputPath(string parameter, string path) =>
        System.IO.Path.IsPathRooted(path) ? path : System.IO.Path.GetFullPath(System.IO.Path.Combine(WorkingDirectory, path));

    /// <summary>
    /// Whether anything reads output <paramref name="output"/> of this node in this run: an input of another node that
    /// executes, or the host (the run's target nodes keep all their outputs). A node may skip work for an output nobody
    /// reads and leave it unset (null); the engine accepts an unset output only when it is unused, and does not serve
    /// such a result from its cache to a later run that reads it. Contexts that cannot tell answer true.
    /// </summary>
    /// <param name="output">The output port's name as workflows write it (snake_case, e.g. <c>previews</c>).</param>
    /// <exception cref="ArgumentException">The node has no output of that name.</exception>
    bool IsOutputUsed(string output) => true;

    /// <summary>
    /// Declares that this node's outputs depend on the current state of a file or folder beyond its parameters' text
    /// (a folder of embeddings the node lists, a checkpoint it converts): the engine serves the cached outputs to a later
    /// run only while the file's size and modification time — for a folder, those of every file under it, and which
    /// files there are — are unchanged; otherwise the node runs again, and so does everything downstream of it.
    /// A path that does not exist counts too: it appearing later is a change. Contexts without a cache ignore it.
    /// </summary>
    /// <param name="path">The absolute path, as the node resolved it.</param>
    void DependsOn(string path)
    {
    }

    /// <summary>Reports progress; the CLI, the editor and the API show it.</summary>
    /// <param name="progress">How far the node is.</param>
    void ReportProgress(NodeProgress progress);

    /// <summary>Publishes a preview image (e.g. decoded latents of the current step).</summary>
    /// <param name="preview">The preview; batch item 0 is shown.</param>
    void ReportPreview(Image preview);

    /// <summary>Announces a file the node wrote, so run results and the API can list it.</summary>
    /// <param name="path">The absolute path of the file.</param>
    void ReportOutputFile(string path);

    /// <summary>
    /// Adds to a named measurement of this node (e.g. <c>onnx_run_seconds</c>, the time spent inside the inference
    /// runtime); runs sum each name over their nodes, so hosts can show where time went.
    /// </summary>
    /// <param name="name">A snake_case metric name; units in the name.</param>
    /// <param name="value">The amount to add.</param>
    void ReportMetric(string name, double value);
}
