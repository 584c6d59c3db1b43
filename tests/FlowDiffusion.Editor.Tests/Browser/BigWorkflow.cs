using System.Globalization;
using System.Text;

namespace FlowDiffusion.Editor.Tests.Browser;

/// <summary>A large valid workflow for canvas load tests: chains of noise → sample-free nodes laid out in a grid.</summary>
internal static class BigWorkflow
{
    public static string Yaml(int nodes)
    {
        var text = new StringBuilder("flowdiffusion: 1\nname: big\nnodes:\n");
        var positions = new StringBuilder("editor:\n  viewport: [0, 0, 1]\n  positions:\n");
        for (var i = 0; i < nodes; i++)
        {
            var id = $"n{i}";
            text.Append(CultureInfo.InvariantCulture, $"  {id}:\n    node: clip.tokenize\n    with:\n      text: node {i}\n");
            positions.Append(CultureInfo.InvariantCulture, $"    {id}: [{40 + i % 20 * 280}, {40 + i / 20 * 200}]\n");
        }
        return text.Append(positions).ToString();
    }
}
