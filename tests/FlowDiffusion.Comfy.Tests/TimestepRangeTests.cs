using System.Text.Json.Nodes;
using SkiaSharp;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ConditioningSetTimestepRange (prompt switching) on analytic-sd, whose x0 is the prompt's colour whatever the input. The
/// sampler is KSamplerAdvanced over 10 "normal" steps stopped after step 5 with the noise removed: its evaluations are at
/// timesteps 999, 888, 777, 666 and 555, and the last one's x0 is the image (Euler's step to sigma 0), so the colour shows
/// which conditionings act at timestep 555. A fraction p of the schedule is timestep (1 − p)·999: 555 is p = 0.4444….
/// </summary>
public sealed class TimestepRangeTests
{
    [Theory]
    [InlineData(0.444, "blue")] // (1 − 0.444)·999 = 555.44 > 555: red [0, 0.444] has stopped, blue [0.444, 1] acts
    [InlineData(0.445, "red")] // 554.45 < 555: red still acts, blue has not started
    public async Task A_prompt_switch_happens_where_the_fraction_falls_in_the_schedule(double at, string expected)
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Graph(cfg: 1);
        prompt["20"] = Encode("a red ball");
        prompt["21"] = Encode("a blue ball");
        prompt["22"] = Range(Link("20"), 0, at);
        prompt["23"] = Range(Link("21"), at, 1);
        prompt["24"] = Combine(Link("22"), Link("23"));
        prompt["3"]!["inputs"]!["positive"] = Link("24");

        var (r, g, b) = Mean(await ClassMappingTests.RunForImageAsync(host, prompt), 0, 64);
        var (er, eb) = expected == "red" ? (1, 0) : (0, 1);
        Assert.True(Math.Abs(r - er) < 0.02 && g < 0.02 && Math.Abs(b - eb) < 0.02, $"switch at {at}: ({r:F3}, {g:F3}, {b:F3}), expected {expected}");
    }

    [Theory]
    [InlineData(0.5, 1.0, 0.0)] // blue [0.5, 1] starts at timestep 499.5, after 555: red alone
    [InlineData(0.4, 0.5, 0.5)] // blue [0.4, 1] acts from 599.4: the mean of the two acting prompts
    public async Task The_guider_averages_the_parts_acting_at_the_step_only(double blueStart, double red, double blue)
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Graph(cfg: 1);
        prompt["20"] = Encode("a red ball");
        prompt["21"] = Encode("a blue ball");
        prompt["23"] = Range(Link("21"), blueStart, 1);
        prompt["24"] = Combine(Link("20"), Link("23"));
        prompt["3"]!["inputs"]!["positive"] = Link("24");

        var (r, g, b) = Mean(await ClassMappingTests.RunForImageAsync(host, prompt), 0, 64);
        Assert.True(Math.Abs(r - red) < 0.02 && g < 0.02 && Math.Abs(b - blue) < 0.02, $"blue from {blueStart}: ({r:F3}, {g:F3}, {b:F3})");
    }

    [Theory]
    [InlineData(0.4, 0.5, 0.0, 0.5)] // green [0, 0.4] stopped at 599.4: the blue negative acts
    [InlineData(0.5, 0.5, 0.5, 0.0)] // green [0, 0.5] acts to 499.5: the green negative acts
    public async Task A_negative_switches_too(double switchAt, double red, double green, double blue)
    {
        await using var host = await ComfyHost.StartAsync();
        // CFG 0.5: u + 0.5·(c − u) = (u + c) / 2 with the red positive, so the colour names the acting negative.
        var prompt = Graph(cfg: 0.5);
        prompt["6"] = Encode("a red ball");
        prompt["20"] = Encode("a green ball");
        prompt["21"] = Encode("a blue ball");
        prompt["22"] = Range(Link("20"), 0, switchAt);
        prompt["23"] = Range(Link("21"), switchAt, 1);
        prompt["24"] = Combine(Link("22"), Link("23"));
        prompt["3"]!["inputs"]!["negative"] = Link("24");

        var (r, g, b) = Mean(await ClassMappingTests.RunForImageAsync(host, prompt), 0, 64);
        Assert.True(Math.Abs(r - red) < 0.02 && Math.Abs(g - green) < 0.02 && Math.Abs(b - blue) < 0.02, $"negative switch at {switchAt}: ({r:F3}, {g:F3}, {b:F3})");
    }

    [Theory]
    [InlineData(0.4, 0.5)] // the area's conditioning acts at 555: its columns mix blue into red
    [InlineData(0.5, 0.0)] // it has not started: red everywhere
    public async Task An_area_conditioning_acts_within_its_range_only(double areaStart, double leftBlue)
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Graph(cfg: 1, width: 128);
        prompt["20"] = Encode("a red ball");
        prompt["21"] = Encode("a blue ball");
        prompt["22"] = new JsonObject
        {
            ["class_type"] = "ConditioningSetArea",
            ["inputs"] = new JsonObject { ["conditioning"] = Link("21"), ["width"] = 64, ["height"] = 64, ["x"] = 0, ["y"] = 0, ["strength"] = 1 },
        };
        prompt["23"] = Range(Link("22"), areaStart, 1);
        prompt["24"] = Combine(Link("20"), Link("23"));
        prompt["3"]!["inputs"]!["positive"] = Link("24");

        // The area is latent columns 0–7 of 16, ramped over its 2 inner columns: columns 0–5 (pixels 0–47) weigh it fully.
        var image = await ClassMappingTests.RunForImageAsync(host, prompt);
        var (r, _, b) = Mean(image, 0, 48);
        Assert.True(Math.Abs(b - leftBlue) < 0.02 && Math.Abs(r - (1 - leftBlue)) < 0.02, $"area from {areaStart}, left: ({r:F3}, {b:F3})");
        var (rr, _, rb) = Mean(image, 64, 128);
        Assert.True(rr > 0.98 && rb < 0.02, $"right half: ({rr:F3}, {rb:F3})");
    }

    [Fact]
    public async Task A_step_no_positive_part_covers_fails_the_prompt_naming_the_step_and_the_queue_goes_on()
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Graph(cfg: 1);
        prompt["22"] = Range(Link("6"), 0, 0.2);
        prompt["3"]!["inputs"]!["positive"] = Link("22");

        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.True(status == 200, body.ToJsonString());
        var history = await host.HistoryAsync(body["prompt_id"]!.GetValue<string>());
        Assert.Equal("error", history["status"]!["status_str"]!.GetValue<string>());
        // 0.2 ends at timestep 799.2: the third evaluation (777) has no positive.
        Assert.Contains("no part of the positive conditioning acts at step 3 of 5 (timestep 777)", history["status"]!.ToJsonString(), StringComparison.Ordinal);

        var (r, g, b) = Mean(await ClassMappingTests.RunForImageAsync(host, Graph(cfg: 1)), 0, 64);
        Assert.True(r < 0.02 && g < 0.02 && b > 0.98, $"the next prompt: ({r:F3}, {g:F3}, {b:F3})");
    }

    [Fact]
    public async Task Start_after_end_and_fractions_beyond_one_are_node_errors()
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Graph(cfg: 1);
        prompt["22"] = Range(Link("6"), 0, 1.5);
        prompt["3"]!["inputs"]!["positive"] = Link("22");
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        Assert.Equal("value_bigger_than_max", body["node_errors"]!["22"]!["errors"]![0]!["type"]!.GetValue<string>());

        prompt["22"] = Range(Link("6"), 0.6, 0.3);
        (status, body) = await host.PostPromptAsync(prompt);
        Assert.True(status == 200, body.ToJsonString());
        var history = await host.HistoryAsync(body["prompt_id"]!.GetValue<string>());
        Assert.Equal("error", history["status"]!["status_str"]!.GetValue<string>());
        Assert.Contains("start (0.6) is after end (0.3)", history["status"]!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClipTextEncode_has_no_A1111_prompt_editing_its_square_brackets_are_text()
    {
        // As in ComfyUI, "[red:blue:0.5]" is text: red and blue weigh alike and the colour is their mean, where A1111's
        // editing would end blue (and A1111's weighting would divide both by 1.1, which the mean hides).
        await using var host = await ComfyHost.StartAsync();
        var (r, g, b) = Mean(await ClassMappingTests.RunForImageAsync(host, Prompts.Txt2Img(text: "a [red:blue:0.5] ball", size: 64)), 0, 64);
        Assert.True(Math.Abs(r - 0.5) < 0.02 && g < 0.02 && Math.Abs(b - 0.5) < 0.02, $"({r:F3}, {g:F3}, {b:F3})");
    }

    // The default graph with a blue positive, sampled by KSamplerAdvanced over 10 normal steps, stopped after 5 without noise.
    private static JsonObject Graph(double cfg, int width = 64)
    {
        var prompt = Prompts.Txt2Img(text: "a blue ball", size: 64);
        prompt["5"]!["inputs"]!["width"] = width;
        prompt["3"] = new JsonObject
        {
            ["class_type"] = "KSamplerAdvanced",
            ["inputs"] = new JsonObject
            {
                ["model"] = Link("4"), ["add_noise"] = "enable", ["noise_seed"] = 7, ["steps"] = 10, ["cfg"] = cfg, ["sampler_name"] = "euler",
                ["scheduler"] = "normal", ["positive"] = Link("6"), ["negative"] = Link("7"), ["latent_image"] = Link("5"),
                ["start_at_step"] = 0, ["end_at_step"] = 5, ["return_with_leftover_noise"] = "disable",
            },
        };
        return prompt;
    }

    private static JsonObject Encode(string text) => new()
    {
        ["class_type"] = "CLIPTextEncode", ["inputs"] = new JsonObject { ["clip"] = new JsonArray("4", 1), ["text"] = text },
    };

    private static JsonObject Range(JsonArray conditioning, double start, double end) => new()
    {
        ["class_type"] = "ConditioningSetTimestepRange", ["inputs"] = new JsonObject { ["conditioning"] = conditioning, ["start"] = start, ["end"] = end },
    };

    private static JsonObject Combine(JsonArray first, JsonArray second) => new()
    {
        ["class_type"] = "ConditioningCombine", ["inputs"] = new JsonObject { ["conditioning_1"] = first, ["conditioning_2"] = second },
    };

    private static JsonArray Link(string id) => new(id, 0);

    // The mean colour of pixel columns [from, to).
    private static (double R, double G, double B) Mean(byte[] png, int from, int to)
    {
        using var bitmap = SKBitmap.Decode(png) ?? throw new InvalidDataException("not an image");
        double r = 0, g = 0, b = 0;
        for (var y = 0; y < bitmap.Height; y++)
        for (var x = from; x < to; x++)
        {
            var c = bitmap.GetPixel(x, y);
            (r, g, b) = (r + c.Red, g + c.Green, b + c.Blue);
        }

        var n = 255.0 * bitmap.Height * (to - from);
        return (r / n, g / n, b / n);
    }
}
