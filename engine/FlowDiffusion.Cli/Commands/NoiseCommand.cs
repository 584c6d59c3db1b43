using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using FlowDiffusion.Diffusion.Noise;

namespace FlowDiffusion.Cli.Commands;

/// <summary><c>flowdiffusion noise</c>: the values torch.randn gives for a seed and shape on CPU.</summary>
internal static class NoiseCommand
{
    public static Command Create()
    {
        var seed = new Option<string>("--seed") { Description = "The seed (64-bit; negative seeds wrap as in torch).", Required = true, HelpName = "S" };
        var shape = new Option<string>("--shape") { Description = "The tensor shape, e.g. 1,4,64,64.", Required = true, HelpName = "B,C,H,W" };
        var json = new Option<bool>("--json") { Description = "Print {\"values\": [...]} in row-major order." };
        var command = new Command("noise", "Print torch.randn(shape, generator=torch.Generator().manual_seed(seed)) as diffusers draws it on CPU.") { seed, shape, json };
        CommandAction.Set(command, (parse, _) =>
        {
            var seedText = parse.GetValue(seed)!;
            TorchGenerator generator;
            if (ulong.TryParse(seedText, NumberStyles.None, CultureInfo.InvariantCulture, out var unsigned)) generator = new TorchGenerator(unsigned);
            else if (long.TryParse(seedText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var signed)) generator = TorchGenerator.FromSignedSeed(signed);
            else throw new UsageException($"--seed {seedText}: not a 64-bit integer");

            var dims = new List<int>();
            foreach (var part in parse.GetValue(shape)!.Split(',', StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var dim) || dim <= 0)
                    throw new UsageException($"--shape: '{part}' is not a positive integer");
                dims.Add(dim);
            }
            if (dims.Aggregate(1L, (a, b) => a * b) > 64L * 1024 * 1024) throw new UsageException("--shape: more than 64 Mi values");
            var values = generator.Randn(dims.ToArray());
            if (parse.GetValue(json))
            {
                Console.WriteLine(new JsonObject { ["values"] = new JsonArray(values.Select(v => (JsonNode)v).ToArray()) }.ToJsonString());
            }
            else
            {
                foreach (var v in values) Console.WriteLine(v.ToString("R", CultureInfo.InvariantCulture));
            }
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
