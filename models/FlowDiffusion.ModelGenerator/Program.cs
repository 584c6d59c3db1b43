using FlowDiffusion.ModelGenerator;

// flowdiffusion-models [--out <folder>]: regenerates the shipped test models (default: ./models).
var output = "models";
for (var i = 0; i < args.Length; i++)
{
    if (args[i] is "--out" && i + 1 < args.Length)
    {
        output = args[++i];
    }
    else
    {
        Console.Error.WriteLine($"Unknown argument '{args[i]}'. Usage: flowdiffusion-models [--out <folder>]");
        return 2;
    }
}

ModelWriter.WriteShipped(output);
Console.WriteLine($"Wrote {string.Join(", ", ModelWriter.ShippedModels)} and {ModelWriter.ManifestName} to {Path.GetFullPath(output)}");
return 0;
