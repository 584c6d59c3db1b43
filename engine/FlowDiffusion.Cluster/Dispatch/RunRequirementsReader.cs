using FlowDiffusion.Cluster.Routing;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Cluster.Dispatch;

/// <summary>Reads what a run needs of a worker from its workflow, with the coordinator's node catalog: the model its
/// model-folder parameter names, its node types and plugins, and its memory estimate.</summary>
public sealed class RunRequirementsReader(FlowDiffusionEngine engine)
{
    /// <summary>
    /// The run's needs; a workflow the coordinator cannot plan needs nothing, so any worker takes it and fails it
    /// with the error, rather than it waiting forever.
    /// </summary>
    public RunRequirements Read(string yaml, string? inputsJson, string? workflow)
    {
        var validation = engine.Parse(yaml, (workflow ?? "workflow") + ".yaml", InputValues.FromJson(inputsJson ?? "{}"));
        if (validation.Plan is not { } plan) return new RunRequirements(null, [], [], 0);
        // The model is whatever a model-folder parameter names (model.load's path, or a plugin's loader).
        var model = plan.Nodes
            .SelectMany(n => n.Parameters.Where(p => p.Key.Kind == ParameterKind.ModelFolder).Select(p => p.Value as string))
            .FirstOrDefault(p => !string.IsNullOrEmpty(p));
        return new RunRequirements(
            model is null ? null : ClaimPolicy.NormalizeModel(model),
            [.. plan.Nodes.Select(n => n.Descriptor.Id + "@" + n.Descriptor.Version).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
            [.. plan.Nodes.Select(n => n.Descriptor.Plugin).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
            engine.EstimateMemory(plan).Bytes);
    }
}
