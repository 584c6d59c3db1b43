using System.Text.Json.Nodes;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>ConditioningSetAreaStrength through /prompt on analytic-sd: the parts of a combination weighed by strength.</summary>
public sealed class ConditioningStrengthMappingTests
{
    [Theory]
    // red at strength 3 with blue at 1: (3·red + blue) / 4 = (0.75, 0, 0.25); equal weights would give (0.5, 0, 0.5).
    [InlineData(3.0, 0.75, 0.25)]
    [InlineData(1.0, 0.5, 0.5)]
    // Strength 0 leaves blue alone.
    [InlineData(0.0, 0.0, 1.0)]
    public async Task Strength_weighs_a_combined_parts_prediction(double strength, double r, double b)
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Prompts.Txt2Img(text: "red", steps: 4);
        prompt["10"] = Node("CLIPTextEncode", new JsonObject { ["clip"] = Link("4", 1), ["text"] = "blue" });
        prompt["11"] = Node("ConditioningSetAreaStrength", new JsonObject { ["conditioning"] = Link("6", 0), ["strength"] = strength });
        prompt["12"] = Node("ConditioningCombine", new JsonObject { ["conditioning_1"] = Link("11", 0), ["conditioning_2"] = Link("10", 0) });
        prompt["3"]!["inputs"]!["positive"] = Link("12", 0);

        var colour = await ClassMappingTests.RunMeanAsync(host, prompt);

        Assert.True(Math.Abs(colour.R - r) < 0.02 && colour.G < 0.02 && Math.Abs(colour.B - b) < 0.02, $"strength {strength}: ({colour.R:F3}, {colour.G:F3}, {colour.B:F3})");
    }
}
