using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Writes a UNet, text encoder and VAE as a single-file checkpoint (ComfyUI's CheckpointSave and ModelSave), or the VAE (VAESave) or text encoders (CLIPSave) alone.</summary>
[Node("model.save", "1.2.0", Category = "advanced/model_merging", Title = "Save Checkpoint", IsOutput = true, Deterministic = false,
    Description = "Writes the models in the output folder as ComfyUI's save nodes write them, never overwriting (folder/prefix_00001_.safetensors, …). layout checkpoint: a single-file checkpoint "
        + "(SD 1.x: model.diffusion_model.*, cond_stage_model.transformer.text_model.*, first_stage_model.*; SDXL: conditioner.embedders.0.transformer.text_model.* and the OpenCLIP tower under conditioner.embedders.1.model.* with q, k and v fused as in_proj; SD 2.x: SD 1.x's UNet and VAE keys and the OpenCLIP ViT-H tower the same way under cond_stage_model.model.*, ending in an identity layer SD 2.x readers skip) "
        + "of whatever is connected — all three as CheckpointSave, the UNet alone as ModelSave; layout vae: the VAE alone under LDM's names without first_stage_model. (VAESave; vae.load reads it); "
        + "layout clip: one file per text tower in transformers CLIP names, prefix_clip_l (prefix_clip_h for SD 2.x) and, for SDXL, prefix_clip_g (CLIPSave). Each weight is written as the handle carries it (merges and LoRAs applied), "
        + "one tensor at a time, so a checkpoint of any size is never held whole; model.load reads a checkpoint back. Only graphs FlowDiffusion built from a checkpoint can be saved.")]
public sealed class ModelSaveNode : INode
{
    /// <summary>The UNet.</summary>
    [Input(Description = "The UNet to save (model.diffusion_model.*).", Optional = true)]
    public IUNetModel? Unet { get; set; }

    /// <summary>The text encoder.</summary>
    [Input(Description = "The CLIP text encoder to save (cond_stage_model.transformer.text_model.*).", Optional = true)]
    public ITextEncoder? Clip { get; set; }

    /// <summary>The VAE.</summary>
    [Input(Description = "The VAE to save (first_stage_model.*).", Optional = true)]
    public IVae? Vae { get; set; }

    /// <summary>The UNet's scheduler configuration, for its prediction type.</summary>
    [Input(Description = "The model's scheduler configuration: a v-prediction model is marked as ComfyUI marks it (modelspec.predict_key v, the v_pred and ztsnr keys). Without one the model is marked epsilon.", Optional = true)]
    public SchedulerConfigSource? SchedulerConfig { get; set; }

    /// <summary>The file name prefix.</summary>
    [Parameter(Description = "File name prefix; placeholders as image.save's (%date%, %workflow%, %seed%).")]
    public string Prefix { get; set; } = "flowdiffusion";

    /// <summary>The folder inside the output folder.</summary>
    [Parameter(Description = "Folder inside the run's output folder ('a' or 'a/b'; empty for the output folder itself), plain names only.")]
    public string Folder { get; set; } = "checkpoints";

    /// <summary>What is written.</summary>
    [Parameter(Description = "checkpoint: one single file of the connected networks (CheckpointSave; the UNet alone is ModelSave); vae: the VAE alone, keys without first_stage_model. (VAESave); clip: each text tower alone in transformers CLIP names, prefix_clip_l and prefix_clip_g (CLIPSave).",
        Choices = ["checkpoint", "clip", "vae"])]
    public string Layout { get; set; } = "checkpoint";

    /// <summary>The precision of the weights written.</summary>
    [Parameter(Description = "model writes each weight in the graph's own type (float32 for checkpoints converted on the CPU); float16 halves the file, as ComfyUI saves fp16 models; float32 widens every weight.", Choices = ["model", "float16", "float32"])]
    public string Precision { get; set; } = "model";

    /// <summary>Extra metadata entries.</summary>
    [Parameter(Description = "Extra text entries for the file's metadata, as a JSON object of strings (the ComfyUI layer puts ComfyUI's prompt and workflow here); empty for none.")]
    public string Metadata { get; set; } = "";

    /// <summary>The files written.</summary>
    [Output(Description = "The paths written (two for an SDXL model's text encoders in layout clip).")]
    public string[] Files { get; set; } = [];

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken) => Task.Run(() =>
    {
        var prefix = OutputNamePattern.ExpandPlain(Prefix, context.Workflow, DateTime.Now);
        var folder = Folder.Replace('\\', '/').Trim('/');
        var parts = folder.Length == 0 ? [] : folder.Split('/');
        if (parts.Length > 8 || !parts.All(OutputNamePattern.IsPlain))
            throw new ArgumentException($"parameter 'folder': '{Folder}' is not a relative folder of plain names; use up to 8 names of letters, digits, '_', '-' and '.' separated by '/' (no '..')");
        var metadata = MetadataEntries.Parse(Metadata);
        metadata["flowdiffusion.workflow"] = context.Workflow.Yaml;
        metadata["flowdiffusion.inputs"] = InputsJson.Write(context.Workflow.Inputs);

        var files = CheckpointSaving.Plan(Layout, Unet, Clip, Vae, SchedulerConfig, Precision, cancellationToken);
        var written = new List<string>();
        foreach (var file in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = prefix + file.Suffix;
            var path = NumberedFiles.Reserve(Path.Combine([context.OutputDirectory, .. parts]), name, "_.safetensors");
            var entries = new Dictionary<string, string>(metadata, StringComparer.Ordinal);
            foreach (var (key, value) in file.Metadata) entries[key] = value;
            if (file.Architecture is { } architecture)
            {
                // ComfyUI's model spec for SDXL; its title is the file's name and number ("ComfyUI 1").
                var number = Path.GetFileName(path)[(name.Length + 1)..^"_.safetensors".Length].TrimStart('0');
                entries["modelspec.architecture"] = architecture;
                entries["modelspec.sai_model_spec"] = "1.0.0";
                entries["modelspec.implementation"] = "sgm";
                entries["modelspec.title"] = $"{Path.GetFileName(name)} {number}";
            }

            try
            {
                SafetensorsWriter.Write(path, file.Layout, file.Read, entries, cancellationToken);
            }
            catch
            {
                File.Delete(path);
                throw;
            }

            context.ReportOutputFile(path);
            written.Add(path);
        }

        Files = [.. written];
    }, cancellationToken);
}
