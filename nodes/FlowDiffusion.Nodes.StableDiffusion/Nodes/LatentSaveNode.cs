using System.Text.Json;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Writes latents as ComfyUI's .latent file.</summary>
[Node("latent.save", "1.0.0", Category = "latent", Title = "Save Latent", IsOutput = true, Deterministic = false,
    Description = "Writes the latents as a ComfyUI .latent file (safetensors: latent_tensor without the VAE's scaling factor, as ComfyUI's SaveLatent writes it, and latent_format_version_0) in the output folder, never overwriting: folder/prefix_00001_.latent, … The file carries the workflow YAML and the run's inputs in its metadata; latent.load and ComfyUI's LoadLatent read it.")]
public sealed class LatentSaveNode : INode
{
    /// <summary>The longest metadata text accepted.</summary>
    public const int MaxMetadataCharacters = MetadataEntries.MaxCharacters;

    /// <summary>The latents.</summary>
    [Input(Description = "The latents to save.")]
    public Latent? Samples { get; set; }

    /// <summary>The VAE whose scaling factor the latents carry.</summary>
    [Input(Description = "The VAE the latents belong to: its scaling factor is divided out. Without one, scaling_factor is used.", Optional = true)]
    public IVae? Vae { get; set; }

    /// <summary>The file name prefix.</summary>
    [Parameter(Description = "File name prefix; placeholders as image.save's (%date%, %workflow%, %seed%).")]
    public string Prefix { get; set; } = "flowdiffusion";

    /// <summary>The folder inside the output folder.</summary>
    [Parameter(Description = "Folder inside the run's output folder ('a' or 'a/b'; empty for the output folder itself), plain names only.")]
    public string Folder { get; set; } = "latents";

    /// <summary>The scaling factor used without a VAE.</summary>
    [Parameter(Description = "The VAE scaling factor the latents carry when no vae is connected (SD 1.x: 0.18215, SDXL: 0.13025).", Min = 0.0001, Max = 100)]
    public double ScalingFactor { get; set; } = LatentFiles.LegacyScalingFactor;

    /// <summary>Extra metadata entries.</summary>
    [Parameter(Description = "Extra text entries for the file's metadata, as a JSON object of strings (the ComfyUI layer puts ComfyUI's prompt and workflow here); empty for none.")]
    public string Metadata { get; set; } = "";

    /// <summary>The files written.</summary>
    [Output(Description = "The path written.")]
    public string[] Files { get; set; } = [];

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var prefix = OutputNamePattern.ExpandPlain(Prefix, context.Workflow, DateTime.Now);
        var folder = Folder.Replace('\\', '/').Trim('/');
        var parts = folder.Length == 0 ? [] : folder.Split('/');
        if (parts.Length > 8 || !parts.All(OutputNamePattern.IsPlain))
            throw new ArgumentException($"parameter 'folder': '{Folder}' is not a relative folder of plain names; use up to 8 names of letters, digits, '_', '-' and '.' separated by '/' (no '..')");
        var scale = Vae?.ScalingFactor ?? ScalingFactor;
        if (!(scale is >= 0.0001 and <= 100)) throw new ArgumentException($"the scaling factor must be 0.0001 … 100; got {scale}");
        var metadata = MetadataEntries.Parse(Metadata);
        metadata["flowdiffusion.workflow"] = context.Workflow.Yaml;
        metadata["flowdiffusion.inputs"] = InputsJson.Write(context.Workflow.Inputs);

        cancellationToken.ThrowIfCancellationRequested();
        var path = NumberedFiles.Reserve(Path.Combine([context.OutputDirectory, .. parts]), prefix, "_.latent");
        try
        {
            LatentFiles.Write(path, Samples!, scale, metadata);
        }
        catch
        {
            File.Delete(path);
            throw;
        }

        context.ReportOutputFile(path);
        Files = [path];
        return Task.CompletedTask;
    }
}
