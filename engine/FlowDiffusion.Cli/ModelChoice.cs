using FlowDiffusion.Checkpoints.Catalog;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Server.Models;

namespace FlowDiffusion.Cli;

/// <summary>Which model a run uses when <c>--set</c> named none, and why: one line per model input, for stderr.</summary>
internal static class ModelChoice
{
    /// <summary>Fills in the picked models (<see cref="WorkflowModelDefaults"/>) and says what was chosen.</summary>
    public static IEnumerable<string> Describe(Workflow workflow, Dictionary<string, object?> values, FlowDiffusionOptions options, string home)
    {
        var unset = workflow.Inputs.Where(i => i.Kind == "model" && i.Default is string && !values.ContainsKey(i.Name)).ToList();
        var given = values.Keys.ToHashSet();
        var applied = WorkflowModelDefaults.Apply(workflow, values, options, home);
        foreach (var input in unset)
        {
            var pick = applied.FirstOrDefault(a => a.Input == input.Name)?.Pick;
            var sizes = pick is null ? "" : string.Join("", new[] { "width", "height" }.Where(n => values.ContainsKey(n) && !given.Contains(n)).Select(n => $" {n}={values[n]}"));
            var why = DefaultModel.IsShippedTestModel(Path.GetFullPath(options.ModelsFolder, home), (string)input.Default!, home) || !Exists((string)input.Default!, home)
                ? $"the workflow's default; no model of your own of its family in {options.ModelsFolder}/ replaces it"
                : "the workflow's default";
            yield return pick is null
                ? $"{input.Name}: {input.Default} ({why}; --set {input.Name}=PATH to choose)"
                : $"{input.Name}: {pick.Path} ({pick.Reason}; --set {input.Name}=PATH to choose){(sizes.Length > 0 ? $"; at its native size:{sizes}" : "")}";
        }
    }

    private static bool Exists(string path, string home)
    {
        var full = Path.GetFullPath(path, home);
        return File.Exists(full) || Directory.Exists(full);
    }
}
