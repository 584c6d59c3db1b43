using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Writes a UNet, text encoder and VAE as an SD 1.x single-file checkpoint (ComfyUI's CheckpointSave).</summary>
[Node("model.save", "1.0.0", Category = "advanced/model_merging", Title = "Save Checkpoint", IsOutput = true, Deterministic = false,
    Description = "Writes the models as an SD 1.x single-file checkpoint (.safetensors in the LDM layout ComfyUI's CheckpointSave writes: model.diffusion_model.*, cond_stage_model.transformer.text_model.*, first_stage_model.*) in the output folder, never overwriting: folder/prefix_00001_.safetensors, … Each weight is written as the handle carries it (merges and LoRAs applied), one tensor at a time, so a checkpoint of any size is never held whole; model.load reads the file back. Only graphs FlowDiffusion built from a checkpoint can be saved; SDXL is not written yet.")]
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

    /// <summary>The precision of the weights written.</summary>
    [Parameter(Description = "model writes each weight in the graph's own type (float32 for checkpoints converted on the CPU); float16 halves the file, as ComfyUI saves fp16 models; float32 widens every weight.", Choices = ["model", "float16", "float32"])]
    public string Precision { get; set; } = "model";

    /// <summary>Extra metadata entries.</summary>
    [Parameter(Description = "Extra text entries for the file's metadata, as a JSON object of strings (the ComfyUI layer puts ComfyUI's prompt and workflow here); empty for none.")]
    public string Metadata { get; set; } = "";

    /// <summary>The files written.</summary>
    [Output(Description = "The path written.")]
    public string[] Files { get; set; } = [];

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken) => Task.Run(() =>
    {
        var prefix = OutputNamePattern.ExpandPlain(Prefix, context.Workflow, DateTime.Now);
        var folder = Folder.Replace('\\', '/').Trim('/');
        var parts = folder.Length == 0 ? [] : folder.Split('/');
        if (parts.Length > 8 || !parts.All(OutputNamePattern.IsPlain))
            throw new ArgumentException($"parameter 'folder': '{Folder}' is not a relative folder of plain names; use up to 8 names of letters, digits, '_', '-' and '.' separated by '/' (no '..')");
        var metadata = LatentSaveNode.ParseMetadata(Metadata);
        metadata["flowdiffusion.workflow"] = context.Workflow.Yaml;
        metadata["flowdiffusion.inputs"] = InputsJson.Write(context.Workflow.Inputs);

        cancellationToken.ThrowIfCancellationRequested();
        var path = NumberedFiles.Reserve(Path.Combine([context.OutputDirectory, .. parts]), prefix, "_.safetensors");
        try
        {
            CheckpointSaving.Write(path, Unet, Clip, Vae, SchedulerConfig, Precision, metadata, cancellationToken);
        }
        catch
        {
            File.Delete(path);
            throw;
        }

        context.ReportOutputFile(path);
        Files = [path];
    }, cancellationToken);
}
