using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using FlowDiffusion.Diffusion.Schedulers;

namespace FlowDiffusion.Cli.Commands;

/// <summary><c>flowdiffusion schedule</c>: the timesteps and sigmas a scheduler produces, to compare with diffusers.</summary>
internal static class ScheduleCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "A model folder (its scheduler/scheduler_config.json is read).", HelpName = "DIR" };
        var config = new Option<string?>("--config-file", "--scheduler-config") { Description = "A scheduler_config.json file.", HelpName = "FILE" };
        var scheduler = new Option<string>("--scheduler") { Description = $"One of: {string.Join(" ", SchedulerCatalog.Names)}.", Required = true, HelpName = "NAME" };
        var steps = new Option<int>("--steps") { Description = "Inference steps.", Required = true, HelpName = "N" };
        var spacing = new Option<string?>("--spacing") { Description = "Timestep spacing: leading, linspace or trailing (default: the class's own).", HelpName = "S" };
        var karras = new Option<bool>("--karras") { Description = "Use Karras sigmas." };
        var json = new Option<bool>("--json") { Description = "Print {\"timesteps\", \"sigmas\", \"init_noise_sigma\"}." };
        var command = new Command("schedule", "Show a scheduler's timesteps and sigmas for a model's configuration.") { model, config, scheduler, steps, spacing, karras, json };
        CommandAction.Set(command, (parse, _) =>
        {
            var modelDir = parse.GetValue(model);
            var configFile = parse.GetValue(config);
            if ((modelDir is null) == (configFile is null))
                throw new UsageException("give exactly one of --model DIR or --config-file FILE");
            var path = configFile ?? Path.Combine(modelDir!, "scheduler", "scheduler_config.json");
            if (!File.Exists(path))
            {
                Console.Error.WriteLine($"error: scheduler configuration not found: {Path.GetFullPath(path)}");
                return Task.FromResult(ExitCodes.Failed);
            }
            if (parse.GetValue(steps) < 1) throw new UsageException("--steps must be at least 1");
            var name = parse.GetValue(scheduler)!;
            if (!SchedulerCatalog.Names.Contains(name))
                throw new UsageException($"unknown scheduler '{name}'; use one of: {string.Join(" ", SchedulerCatalog.Names)}");
            var instance = SchedulerCatalog.Create(name, SchedulerConfig.Load(path), parse.GetValue(karras), parse.GetValue(spacing));
            instance.SetTimesteps(parse.GetValue(steps));
            if (parse.GetValue(json))
            {
                var result = new JsonObject { ["timesteps"] = new JsonArray(instance.Timesteps.Select(t => (JsonNode)t).ToArray()) };
                if (instance.Sigmas is { } sigmas) result["sigmas"] = new JsonArray(sigmas.Select(s => (JsonNode)s).ToArray());
                result["init_noise_sigma"] = instance.InitNoiseSigma;
                Console.WriteLine(result.ToJsonString());
            }
            else
            {
                for (var i = 0; i < instance.Timesteps.Count; i++)
                    Console.WriteLine($"{i,4}  t={instance.Timesteps[i].ToString("R", CultureInfo.InvariantCulture)}" +
                                      (instance.Sigmas is { } s ? $"  sigma={s[i].ToString("R", CultureInfo.InvariantCulture)}" : ""));
                Console.WriteLine($"init_noise_sigma={instance.InitNoiseSigma.ToString("R", CultureInfo.InvariantCulture)}");
            }
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
