using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using FlowDiffusion.Checkpoints.Catalog;

namespace FlowDiffusion.Cli.Commands;

/// <summary><c>flowdiffusion models</c>: what the models folder holds, with kind, architecture, precision and size.</summary>
internal static class ModelsCommand
{
    public static Command Create()
    {
        var folder = new Option<string>("--dir") { Description = "The models folder.", DefaultValueFactory = _ => "models", HelpName = "DIR" };
        var json = new Option<bool>("--json") { Description = "Print a JSON array of {path, kind, architecture, precision, bytes}." };
        var command = new Command("models", "List the checkpoints, model folders, LoRAs, VAEs, embeddings and tokenizers in the models folder "
            + "(models/, models/checkpoints, loras, vae, embeddings, tokenizers), read from file headers.") { folder, json };
        CommandAction.Set(command, (parse, _) =>
        {
            var root = parse.GetValue(folder)!;
            if (!Directory.Exists(root))
            {
                throw new UsageException($"--dir {root}: no such folder");
            }

            var entries = ModelCatalog.List(root);
            if (parse.GetValue(json))
            {
                Console.WriteLine(new JsonArray(entries.Select(e => (JsonNode)new JsonObject
                {
                    ["path"] = Path.Combine(root, e.Path).Replace('\\', '/'), ["kind"] = e.Kind, ["architecture"] = e.Architecture,
                    ["precision"] = e.Precision, ["bytes"] = e.Bytes,
                }).ToArray()).ToJsonString());
                return Task.FromResult(ExitCodes.Ok);
            }

            if (entries.Count == 0)
            {
                Console.WriteLine($"{root} holds no models. Put .safetensors checkpoints in {Path.Combine(root, "checkpoints")}, LoRAs in loras/, VAEs in vae/, embeddings in embeddings/.");
                return Task.FromResult(ExitCodes.Ok);
            }

            var kindWidth = Math.Max(4, entries.Max(e => e.Kind.Length));
            var pathWidth = Math.Min(60, entries.Max(e => e.Path.Length));
            Console.WriteLine($"{"KIND".PadRight(kindWidth)}  {"SIZE",9}  {"PRECISION",-9}  {"PATH".PadRight(pathWidth)}  ARCHITECTURE");
            foreach (var e in entries)
            {
                Console.WriteLine($"{e.Kind.PadRight(kindWidth)}  {Size(e.Bytes),9}  {e.Precision,-9}  {e.Path.PadRight(pathWidth)}  {e.Architecture}");
            }

            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("F2", CultureInfo.InvariantCulture) + " GB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("F1", CultureInfo.InvariantCulture) + " MB",
        _ => (bytes / 1024.0).ToString("F1", CultureInfo.InvariantCulture) + " KB",
    };
}
