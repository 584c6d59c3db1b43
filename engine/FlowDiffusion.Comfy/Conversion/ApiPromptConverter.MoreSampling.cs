using System.Text.Json.Nodes;
using FlowDiffusion.Checkpoints;
using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Diffusion.Schedulers;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's SamplerEulerCFGpp (comfy_extras/nodes_advanced_samplers.py), a SAMPLER as KSamplerSelect gives one, and
/// SamplingPercentToSigma (comfy_extras/nodes_custom_sampler.py), a FLOAT settled at conversion from the model's sampling.
/// </summary>
public sealed partial class ApiPromptConverter
{
    // SamplerEulerCFGpp: version regular is ComfyUI's ksampler("euler_cfg_pp"); alternative is a sampler of that file's own
    // (sample_euler_pp: x + (x − 2·denoised + uncond)/σ · (σ' − σ)), which no sampler here runs: a node error naming version.
    private ComfyValue[]? SamplerEulerCfgPp(string id, JsonObject inputs)
    {
        var version = Choice(id, inputs, "version", "regular", ["regular", "alternative"]);
        if (version is null) return null;
        if (version == "alternative")
        {
            Error(id, "value_not_supported", "Value not supported",
                "version: 'alternative' is ComfyUI's sample_euler_pp, which FlowDiffusion does not run; 'regular' (the sampler euler_cfg_pp) is supported", "version");
            return null;
        }

        return [new SamplerValue("euler_cfg_pp", KSamplerParameters.Default)];
    }

    // SamplingPercentToSigma → no node: FLOAT outputs are settled at conversion (as GetImageSize's INTs), so ComfyUI's
    // percent_to_sigma is computed here on the model's sampling, which is known then when the MODEL comes from
    // CheckpointLoaderSimple (or DiffusersLoader, CheckpointLoader), through ModelSamplingDiscrete patches.
    private ComfyValue[]? SamplingPercentToSigma(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var percent = Number(id, inputs, "sampling_percent", 0);
        var actual = Boolean(id, inputs, "return_actual_sigma", false);
        if (model is null || percent is null || actual is null || !Within(id, "sampling_percent", percent.Value, 0, 1)) return null;
        if (ModelSamplingAtConversion(model) is not { } sampling)
        {
            Error(id, "value_not_supported", "Value not supported",
                "model: FlowDiffusion settles FLOAT outputs when the prompt is converted, so SamplingPercentToSigma needs a model whose sigmas are known then — one from CheckpointLoaderSimple, DiffusersLoader or CheckpointLoader, patched by ModelSamplingDiscrete at most; this one's schedule is known only when the workflow runs",
                "model");
            return null;
        }

        // return_actual_sigma changes only the ends: the table's largest and smallest sigma in place of ComfyUI's interval bounds.
        var sigma = actual.Value && percent.Value == 0 ? sampling.SigmaMax
            : actual.Value && percent.Value == 1 ? sampling.SigmaMin
            : sampling.PercentToSigma(percent.Value);
        return [new ConstantValue("FLOAT", JsonValue.Create(sigma))];
    }

    // The model sampling of a MODEL whose scheduler configuration comes from model.load, through model.sampling nodes
    // (the nearest of which sets SD's training schedule, zero terminal SNR or not, as ModelSamplingDiscrete does); null when
    // anything else computes it (a continuous schedule, a UNet alone) or the model cannot be read now.
    private IModelSampling? ModelSamplingAtConversion(ModelValue model)
    {
        bool? zeroSnr = null;
        var port = model.SchedulerConfig;
        while (port.LastIndexOf('.') is > 0 and var dot && nodes.FirstOrDefault(n => n.Id == port[..dot]) is { } node)
        {
            if (node.Type == "model.sampling" && node.Edge("config") is { } edge)
            {
                zeroSnr ??= node.Parameter("zero_snr")?.Value is LiteralValue { Value: true };
                port = $"{edge.SourceNode}.{edge.SourceOutput}";
                continue;
            }

            if (node.Type != "model.load" || node.Parameter("path")?.Value is not LiteralValue { Value: string path }) return null;
            var full = Path.GetFullPath(Path.Combine(folders.WorkingFolder, path));
            try
            {
                if (CheckpointCache.IsCheckpoint(full))
                {
                    // A checkpoint's converted schedule is SD's training betas, rescaled when the file carries ztsnr.
                    zeroSnr ??= File.Exists(full) && CheckpointSampling.Of(full, "auto").ZeroSnr;
                    return DiscreteModelSampling.For(new SchedulerConfig { RescaleBetasZeroSnr = zeroSnr.Value });
                }

                if (!Directory.Exists(full)) return null;
                var config = SchedulerConfig.Load(ModelFolder.Open(full).SchedulerConfigPath);
                return zeroSnr is { } rescaled ? DiscreteModelSampling.For(new SchedulerConfig { RescaleBetasZeroSnr = rescaled }) : IModelSampling.For(config);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or FormatException or ArgumentException or System.Text.Json.JsonException)
            {
                return null;
            }
        }

        return null;
    }
}
