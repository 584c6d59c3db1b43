using FlowDiffusion.Checkpoints.Catalog;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Server.Models;

/// <summary>
/// Fills in the model a run uses when its caller named none (<see cref="DefaultModel"/> says which), at that model's
/// native size: a width or height input the caller did not set is moved to the picked model's native size when the
/// workflow's default for it is the native size of the model it replaced (shapes-sd's 64) — a size pinned to that
/// model, not to the picture; 0 (the model's native size) and any other pinned size stay. The CLI, the API and the
/// editor apply it the same way, so the run's stored inputs name the model that ran.
/// </summary>
public static class WorkflowModelDefaults
{
    /// <summary>What was filled in, one entry per model input: the input, the model and why.</summary>
    public sealed record Applied(string Input, DefaultModelPick Pick);

    /// <summary>
    /// <see cref="Apply(Workflow, IDictionary{string, object?}, FlowDiffusionOptions, string)"/> for a run the server
    /// queues or warms up with: paths resolve against the engine's working folder (else the current folder). YAML that
    /// does not read is left to the validation that follows, and nothing is filled in.
    /// </summary>
    /// <param name="yaml">The workflow's text.</param>
    /// <param name="file">Its file name, for the reader.</param>
    /// <param name="values">The run's input values; changed in place.</param>
    /// <param name="options">The engine's options.</param>
    public static IReadOnlyList<Applied> ApplyToRun(string yaml, string file, IDictionary<string, object?> values, FlowDiffusionOptions options) =>
        WorkflowYamlReader.Read(yaml, file).Workflow is { } workflow
            ? Apply(workflow, values, options, options.WorkingFolder is { Length: > 0 } home ? home : Environment.CurrentDirectory)
            : [];

    /// <summary>Adds the picked model (and sizes) to <paramref name="values"/> for every model input it lacks.</summary>
    /// <param name="workflow">The workflow as read.</param>
    /// <param name="values">The caller's input values; changed in place.</param>
    /// <param name="options">Where the models folder is.</param>
    /// <param name="home">The folder workflow paths are relative to.</param>
    public static IReadOnlyList<Applied> Apply(Workflow workflow, IDictionary<string, object?> values, FlowDiffusionOptions options, string home)
    {
        var applied = new List<Applied>();
        foreach (var input in workflow.Inputs.Where(i => i.Kind == "model" && i.Type == ParameterValueType.String && i.Default is string { Length: > 0 }))
        {
            if (values.ContainsKey(input.Name)) continue;
            var written = (string)input.Default!;
            if (Pick(options, home, written) is not { } pick) continue;
            values[input.Name] = pick.Path;
            applied.Add(new Applied(input.Name, pick));
            if (applied.Count > 1) continue;
            var replacedSize = DefaultModel.NativeSize(Path.GetFullPath(written, home), DefaultModel.FamilyOf(Path.GetFullPath(written, home)));
            foreach (var side in workflow.Inputs.Where(i => i.Name is "width" or "height" && i.Type == ParameterValueType.Integer && !values.ContainsKey(i.Name)))
                if (Convert.ToInt64(side.Default, System.Globalization.CultureInfo.InvariantCulture) == replacedSize)
                    values[side.Name] = (long)pick.NativeSize;
        }
        return applied;
    }

    /// <summary>The model <see cref="DefaultModel.Pick"/> puts in place of <paramref name="writtenDefault"/>, with the options' models folder.</summary>
    public static DefaultModelPick? Pick(FlowDiffusionOptions options, string home, string writtenDefault)
    {
        try
        {
            return DefaultModel.Pick(Path.GetFullPath(options.ModelsFolder, home), writtenDefault, home);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // A models folder that cannot be read picks nothing: the workflow's default stands.
            return null;
        }
    }
}
