using Xunit.Abstractions;

namespace FlowDiffusion.Models.Tests;

/// <summary>
/// The judge on shapes-sd through the product's own workflows/txt2img.yaml at 64×64 with its default steps, guidance
/// and scheduler: colour, shape and background must all be right, scored separately for colour/shape pairs seen in
/// training and the held-out ones.
/// </summary>
public sealed class ShapesSdTxt2ImgTests(ITestOutputHelper output)
{
    // Measured on the committed weights (docs/shapes-sd.md); the floors sit at what the model achieves.
    private const double SeenFloor = 0.95;
    private const double HeldOutFloor = 0.95;

    /// <summary>Every seen colour/shape pair on three backgrounds, every held-out pair on all seven others.</summary>
    internal static IReadOnlyList<(string Prompt, string Colour, string Shape, string Background, bool HeldOut, int Seed)> Prompts()
    {
        var colours = ShapesSdJudge.Palette.Select(p => p.Name).ToArray();
        var prompts = new List<(string, string, string, string, bool, int)>();
        for (var c = 0; c < colours.Length; c++)
        for (var s = 0; s < ShapesSdJudge.Shapes.Count; s++)
        {
            var (colour, shape) = (colours[c], ShapesSdJudge.Shapes[s]);
            var heldOut = ShapesSdJudge.HeldOut.Contains((colour, shape));
            for (var k = 0; k < (heldOut ? 7 : 3); k++)
            {
                var background = colours[(c + 1 + (s + 3 * k) % (colours.Length - 1)) % colours.Length];
                prompts.Add(($"a {colour} {shape} on a {background} background", colour, shape, background, heldOut, 100 + prompts.Count));
            }
        }

        return prompts;
    }

    [Fact]
    public async Task Txt2img_draws_the_prompted_colour_shape_and_background()
    {
        using var engine = new ShapesSdEngine();
        var (seen, seenRight, held, heldRight) = (0, 0, 0, 0);
        foreach (var (prompt, colour, shape, background, heldOut, seed) in Prompts())
        {
            var verdict = ShapesSdJudge.Judge(await engine.DrawAsync(prompt, seed));
            var right = verdict.Matches(colour, shape, background);
            if (!right) output.WriteLine($"{(heldOut ? "held-out" : "seen")}: '{prompt}' drew {verdict}");
            (seen, seenRight) = heldOut ? (seen, seenRight) : (seen + 1, seenRight + (right ? 1 : 0));
            (held, heldRight) = heldOut ? (held + 1, heldRight + (right ? 1 : 0)) : (held, heldRight);
        }

        output.WriteLine($"seen {seenRight}/{seen}, held-out {heldRight}/{held}");
        Assert.True(seenRight >= SeenFloor * seen, $"seen combinations: {seenRight}/{seen} right");
        Assert.True(heldRight >= HeldOutFloor * held, $"held-out combinations: {heldRight}/{held} right");
    }
}
