using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;

namespace FlowDiffusion.Comfy.Tests.A1111;

public sealed class A1111SamplerMappingTests
{
    [Theory]
    [InlineData("Euler a", null, "euler_ancestral", "normal")]
    [InlineData("k_euler_a", null, "euler_ancestral", "normal")]
    [InlineData("Euler", null, "euler", "normal")]
    [InlineData("euler", "Karras", "euler", "karras")]
    [InlineData("LMS", null, "lms", "normal")]
    [InlineData("LMS Karras", null, "lms", "karras")]
    [InlineData("Heun", null, "heun", "normal")]
    [InlineData("DPM2", null, "dpm_2", "karras")]
    [InlineData("DPM2 a", null, "dpm_2_ancestral", "karras")]
    [InlineData("DPM2 a Karras", null, "dpm_2_ancestral", "karras")]
    [InlineData("DPM++ 2S a", null, "dpmpp_2s_ancestral", "karras")]
    [InlineData("DPM++ 2M", null, "dpmpp_2m", "karras")]
    [InlineData("DPM++ 2M", "Automatic", "dpmpp_2m", "karras")]
    [InlineData("DPM++ 2M", "Uniform", "dpmpp_2m", "normal")]
    [InlineData("DPM++ 2M Karras", null, "dpmpp_2m", "karras")]
    [InlineData("DPM++ 2M Karras", "Automatic", "dpmpp_2m", "karras")]
    [InlineData("DPM++ 2M Karras", "sgm_uniform", "dpmpp_2m", "sgm_uniform")]
    [InlineData("DPM++ SDE", null, "dpmpp_sde", "karras")]
    [InlineData("DPM++ SDE Karras", null, "dpmpp_sde", "karras")]
    [InlineData("DPM++ 2M SDE", null, "dpmpp_2m_sde", "exponential")]
    [InlineData("DPM++ 2M SDE Karras", null, "dpmpp_2m_sde", "karras")]
    [InlineData("DPM++ 3M SDE Exponential", null, "dpmpp_3m_sde", "exponential")]
    [InlineData("DPM fast", null, "dpm_fast", "normal")]
    [InlineData("DPM adaptive", null, "dpm_adaptive", "normal")]
    [InlineData("DDIM", null, "ddim", "ddim_uniform")]
    [InlineData("UniPC", null, "uni_pc", "normal")]
    [InlineData("UniPC", "Beta", "uni_pc", "beta")]
    [InlineData("LCM", "Simple", "lcm", "simple")]
    [InlineData("Euler", "KL Optimal", "euler", "kl_optimal")]
    [InlineData("Euler", "DDIM", "euler", "ddim_uniform")]
    public void Each_A1111_sampler_and_scheduler_name_maps_to_a_ComfyUI_sampler_and_scheduler(string sampler, string? scheduler, string comfySampler, string comfyScheduler)
    {
        var body = new JsonObject { ["sampler_name"] = sampler };
        if (scheduler is not null) body["scheduler"] = scheduler;
        var prompt = A1111Prompt.Build(A1111Request.Parse(body, img2img: false), "analytic-sd", 1, 5, null);
        var inputs = prompt["sample_0"]!["inputs"]!;
        Assert.Equal((comfySampler, comfyScheduler), (inputs["sampler_name"]!.GetValue<string>(), inputs["scheduler"]!.GetValue<string>()));
    }

    [Fact]
    public void The_default_sampler_is_Euler_on_its_own_schedule()
    {
        var request = A1111Request.Parse(new JsonObject(), img2img: false);
        Assert.Equal(("Euler", "automatic"), (request.Sampler.Name, request.Scheduler.Name));
        Assert.Equal("Euler", request.Parameters["sampler_name"]!.GetValue<string>());
        Assert.Equal((50, 7.0, 512, 512), (request.Steps, request.CfgScale, request.Width, request.Height));
    }

    [Fact]
    public async Task Every_mapped_sampler_and_scheduler_is_one_the_ComfyUI_layer_runs_and_the_samplers_route_lists_them()
    {
        await using var host = await ComfyHost.StartAsync();
        var ksampler = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/KSampler"))!["KSampler"]!["input"]!["required"]!;
        var samplers = ksampler["sampler_name"]![0]!.AsArray().Select(s => s!.GetValue<string>()).ToHashSet();
        var schedulers = ksampler["scheduler"]![0]!.AsArray().Select(s => s!.GetValue<string>()).ToHashSet();
        Assert.All(A1111Samplers.All, s => Assert.Contains(s.ComfySampler, samplers));
        Assert.All(A1111Samplers.All, s => Assert.Contains(s.AutomaticScheduler, schedulers));
        Assert.All(A1111Samplers.Schedulers.Where(s => s.ComfyScheduler is not null), s => Assert.Contains(s.ComfyScheduler!, schedulers));

        var listed = await A1111Client.GetAsync(host, "samplers");
        Assert.Equal(A1111Samplers.All.Select(s => s.Name), listed.AsArray().Select(s => s!["name"]!.GetValue<string>()));
        var dpm = listed.AsArray().Single(s => s!["name"]!.GetValue<string>() == "DPM++ 2M")!;
        Assert.Equal("karras", dpm["options"]!["scheduler"]!.GetValue<string>());
        Assert.Equal(["k_euler_a", "k_euler_ancestral"], listed.AsArray().Single(s => s!["name"]!.GetValue<string>() == "Euler a")!["aliases"]!.AsArray().Select(a => a!.GetValue<string>()));
        var labels = (await A1111Client.GetAsync(host, "schedulers")).AsArray().Select(s => s!["label"]!.GetValue<string>()).ToList();
        Assert.Equal(["Automatic", "Uniform", "Karras", "Exponential", "SGM Uniform", "KL Optimal", "Simple", "Normal", "DDIM", "Beta"], labels);
    }
}
