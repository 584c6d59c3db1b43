using System.Text.Json;
using FlowDiffusion.Sdk.Values;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>The soft-edge reference files' test image and map comparison (make_hed.py's and make_pidinet.py's JSON), for the node tests.</summary>
internal static class SoftEdgeReferences
{
    /// <summary>How many pixels of <paramref name="result"/> differ from the grey <paramref name="expected"/> in any channel, and by how many levels at most.</summary>
    public static (int Wrong, int Worst) Compare(Image result, byte[] expected)
    {
        var plane = result.Height * result.Width;
        int wrong = 0, worst = 0;
        for (var p = 0; p < plane; p++)
        {
            var ok = true;
            for (var ch = 0; ch < 3; ch++)
            {
                var difference = (int)Math.Round(Math.Abs(result.Pixels[ch * plane + p] * 255 - expected[p]));
                worst = Math.Max(worst, difference);
                ok &= difference == 0;
            }

            if (!ok) wrong++;
        }

        return (wrong, worst);
    }

    /// <summary>Writes the reference file's test image to <paramref name="temp"/> as <c>strokes.png</c> and returns its path.</summary>
    public static string WriteImage(JsonElement oracle, TempFolder temp)
    {
        var image = oracle.GetProperty("image");
        int height = image.GetProperty("height").GetInt32(), width = image.GetProperty("width").GetInt32();
        var rgb = image.GetProperty("rgb_hwc").GetBytesFromBase64();
        var path = Path.Combine(temp.Path, "strokes.png");
        TestPng.WriteRgb(path, width, height, (x, y) => (rgb[3 * (y * width + x)], rgb[3 * (y * width + x) + 1], rgb[3 * (y * width + x) + 2]));
        return path;
    }
}
