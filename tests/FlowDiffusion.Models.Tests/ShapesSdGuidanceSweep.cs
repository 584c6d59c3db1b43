using System.Globalization;
using System.Text;
using FlowDiffusion.Sdk.Values;
using Xunit.Abstractions;

namespace FlowDiffusion.Models.Tests;

/// <summary>
/// The judge's scores across guidance scales, for docs/shapes-sd.md. Opt-in (minutes of sampling): set
/// FLOWDIFFUSION_SHAPES_SWEEP to a folder; the table goes to sweep.md there and every picture to a PPM file.
/// </summary>
public sealed class ShapesSdGuidanceSweep(ITestOutputHelper output)
{
    private static readonly double[] Scales = [1, 2, 3, 5, 7.5, 10];

    [SkippableFact]
    public async Task Guidance_sweep_table()
    {
        var folder = Environment.GetEnvironmentVariable("FLOWDIFFUSION_SHAPES_SWEEP");
        Skip.If(string.IsNullOrEmpty(folder), "set FLOWDIFFUSION_SHAPES_SWEEP to a folder to run the guidance sweep");
        Directory.CreateDirectory(folder);
        using var engine = new ShapesSdEngine();
        var table = new StringBuilder("| guidance | seen right | held-out right | colour | shape | background |\n|---|---|---|---|---|---|\n");
        foreach (var scale in Scales)
        {
            int seen = 0, seenRight = 0, held = 0, heldRight = 0, colour = 0, shape = 0, background = 0, i = 0;
            foreach (var p in ShapesSdTxt2ImgTests.Prompts())
            {
                var image = await engine.DrawAsync(p.Prompt, p.Seed, scale);
                WritePpm(image, Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"cfg{scale}_{i++:D3}_{p.Colour}_{p.Shape}_{p.Background}.ppm")));
                var v = ShapesSdJudge.Judge(image);
                var right = v.Matches(p.Colour, p.Shape, p.Background);
                colour += v.Colour == p.Colour ? 1 : 0;
                shape += v.Shape == p.Shape ? 1 : 0;
                background += v.Background == p.Background ? 1 : 0;
                if (p.HeldOut) (held, heldRight) = (held + 1, heldRight + (right ? 1 : 0));
                else (seen, seenRight) = (seen + 1, seenRight + (right ? 1 : 0));
            }

            var all = seen + held;
            table.Append(CultureInfo.InvariantCulture, $"| {scale} | {seenRight}/{seen} ({100.0 * seenRight / seen:F0}%) | {heldRight}/{held} ({100.0 * heldRight / held:F0}%) | {100.0 * colour / all:F0}% | {100.0 * shape / all:F0}% | {100.0 * background / all:F0}% |\n");
        }

        output.WriteLine(table.ToString());
        await File.WriteAllTextAsync(Path.Combine(folder, "sweep.md"), table.ToString());
    }

    private static void WritePpm(Image image, string path)
    {
        var pixels = image.PixelsOf(0);
        int plane = image.Height * image.Width;
        using var file = File.Create(path);
        file.Write(Encoding.ASCII.GetBytes($"P6\n{image.Width} {image.Height}\n255\n"));
        for (var p = 0; p < plane; p++)
        {
            for (var c = 0; c < 3; c++)
            {
                file.WriteByte((byte)Math.Round(Math.Clamp(pixels[c * plane + p], 0f, 1f) * 255.0));
            }
        }
    }
}
