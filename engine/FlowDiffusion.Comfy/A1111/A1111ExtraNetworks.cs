using System.Globalization;
using System.Text.RegularExpressions;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>One <c>&lt;lora:name:multiplier&gt;</c> of a prompt: the LoRA's name and its text-encoder and UNet multipliers.</summary>
/// <param name="Name">The name (A1111's: the file name without extension).</param>
/// <param name="TextEncoder">The text encoder's multiplier.</param>
/// <param name="Unet">The UNet's multiplier.</param>
public sealed record A1111Lora(string Name, double TextEncoder, double Unet);

/// <summary>
/// A1111's extra networks in a prompt: <c>&lt;lora:name&gt;</c>, <c>&lt;lora:name:w&gt;</c> and <c>&lt;lora:name:te:unet&gt;</c> (also
/// <c>te=</c>, <c>unet=</c>) are taken out of the text and applied to the model and CLIP, as A1111 does; other networks
/// (hypernetworks, LyCORIS tags) are refused.
/// </summary>
public static partial class A1111ExtraNetworks
{
    /// <summary>The prompt without its tags, and its LoRAs in order; throws naming <paramref name="field"/> for a tag it cannot follow.</summary>
    public static (string Text, IReadOnlyList<A1111Lora> Loras) Parse(string prompt, string field)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var loras = new List<A1111Lora>();
        var text = Tag().Replace(prompt, match =>
        {
            var kind = match.Groups["kind"].Value;
            if (kind != "lora")
                throw new A1111RequestException(422, field, $"<{kind}:…>: only <lora:name:multiplier> extra networks are supported");
            var args = match.Groups["args"].Value.Split(':');
            double? te = null, unet = null;
            var positional = new List<double>();
            foreach (var arg in args.Skip(1))
            {
                var (key, value) = arg.Split('=', 2) is [var k, var v] ? (k.Trim(), v.Trim()) : ("", arg.Trim());
                if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number) || Math.Abs(number) > 100)
                    throw new A1111RequestException(422, field, $"{match.Value}: '{arg}' is not a multiplier");
                switch (key)
                {
                    case "": positional.Add(number); break;
                    case "te": te = number; break;
                    case "unet": unet = number; break;
                    default: throw new A1111RequestException(422, field, $"{match.Value}: '{key}=' is not supported (te=, unet=)");
                }
            }

            if (positional.Count > 2) throw new A1111RequestException(422, field, $"{match.Value}: at most a text-encoder and a UNet multiplier");
            te ??= positional.Count > 0 ? positional[0] : 1;
            unet ??= positional.Count > 1 ? positional[1] : te;
            var name = args[0].Trim();
            if (name.Length == 0) throw new A1111RequestException(422, field, $"{match.Value}: no LoRA name");
            loras.Add(new A1111Lora(name, te.Value, unet.Value));
            return "";
        });
        return (text, loras);
    }

    [GeneratedRegex(@"<(?<kind>[A-Za-z_]+):(?<args>[^>]*)>")]
    private static partial Regex Tag();
}
