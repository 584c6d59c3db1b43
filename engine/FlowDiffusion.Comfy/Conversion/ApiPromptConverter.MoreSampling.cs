using System.Text.Json.Nodes;
using FlowDiffusion.Diffusion.KDiffusion;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's SamplerEulerCFGpp (comfy_extras/nodes_advanced_samplers.py): a SAMPLER, as KSamplerSelect gives one.
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
}
