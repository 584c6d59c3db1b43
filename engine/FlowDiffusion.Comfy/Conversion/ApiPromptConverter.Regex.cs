using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's RegexMatch, RegexExtract and RegexReplace: folded when the prompt is converted, like the other string nodes,
/// with the Python pattern translated by <see cref="PythonRegex"/> and searched as Python's <c>re</c> does (after an empty
/// match the next one may start there but not end there). A pattern Python rejects is False for RegexMatch and "" for
/// RegexExtract, as in ComfyUI, and a node error for RegexReplace; a pattern without exact translation, a search past
/// <see cref="PythonRegex.MatchTimeout"/> or a result past <see cref="MaxConstantText"/> is a node error naming the input.
/// </summary>
public sealed partial class ApiPromptConverter
{
    private static readonly string[] ExtractModes = ["First Match", "All Matches", "First Group", "All Groups"];

    // All searches of one node together stop after this long, however many matches there are.
    private static readonly TimeSpan RegexBudget = TimeSpan.FromSeconds(2);

    private ComfyValue[]? RegexNode(string id, JsonObject inputs, string type)
    {
        var text = Text(id, inputs, "string", null);
        var pattern = Text(id, inputs, "regex_pattern", null);
        var ignoreCase = Boolean(id, inputs, "case_insensitive", true);
        var multiline = Boolean(id, inputs, "multiline", false);
        var dotAll = Boolean(id, inputs, "dotall", false);
        if (text is null || pattern is null || ignoreCase is null || multiline is null || dotAll is null) return null;
        if (PythonRegex.HasAstral(text))
        {
            Error(id, "value_not_supported", "Value not supported", "string: a character past U+FFFF (Python counts it as one character, .NET's regular expressions as two)", "string");
            return null;
        }

        var regex = PythonRegex.Parse(pattern, ignoreCase.Value, multiline.Value, dotAll.Value);
        if (regex.Unsupported is { } why)
        {
            Error(id, "value_not_supported", "Value not supported", $"regex_pattern: {why} has no exact .NET translation", "regex_pattern");
            return null;
        }

        if (regex.IgnoresCase && PythonRegex.HasRareCase(text))
        {
            Error(id, "value_not_supported", "Value not supported",
                "string: under case_insensitive, a character whose case partners Python and .NET disagree on (such as ſ, ı, İ, µ, ς, K)", "string");
            return null;
        }

        try
        {
            return type switch
            {
                "RegexMatch" => [new ConstantValue("BOOLEAN", JsonValue.Create(regex.Regex?.Match(text).Success ?? false))],
                "RegexExtract" => Extract(id, inputs, text, regex),
                _ => Substitute(id, inputs, text, regex),
            };
        }
        catch (RegexMatchTimeoutException)
        {
            Error(id, "value_not_supported", "Value not supported",
                $"regex_pattern: the search ran past {PythonRegex.MatchTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s (a pattern that backtracks without end?)", "regex_pattern");
            return null;
        }
    }

    private ComfyValue[]? Extract(string id, JsonObject inputs, string text, PythonRegex regex)
    {
        var mode = Choice(id, inputs, "mode", "First Match", ExtractModes);
        var groupIndex = Integer(id, inputs, "group_index", 1);
        if (mode is null || groupIndex is null || !Within(id, "group_index", groupIndex.Value, 0, 100)) return null;
        var index = (int)groupIndex.Value;
        if (regex.Regex is null) return [new ConstantValue("STRING", JsonValue.Create(""))];
        List<string> found = [];
        switch (mode)
        {
            case "First Match":
                if (regex.Regex.Match(text) is { Success: true } first) found.Add(first.Value);
                break;
            case "All Matches":
                // re.findall: the whole match without groups, else group 1 ("" where it took no part).
                foreach (var match in Matches(regex, text))
                    found.Add(regex.Groups == 0 ? match.Value : match.Groups[1].Value);
                break;
            default:
                var matches = mode == "First Group" ? Matches(regex, text).Take(1) : Matches(regex, text).Where(_ => regex.Groups > 0);
                foreach (var match in matches)
                {
                    if (regex.Groups < index) continue;
                    if (index > 0 && !match.Groups[index].Success)
                    {
                        Error(id, "value_not_supported", "Value not supported",
                            $"group_index: group {index} took no part in the match at {match.Index} (Python gives None, which no string input takes)", "group_index");
                        return null;
                    }

                    found.Add(match.Groups[index].Value);
                }

                break;
        }

        var result = Bounded(id, "regex_pattern", found.Sum(f => (long)f.Length) + Math.Max(0, found.Count - 1), () => string.Join('\n', found));
        return result is null ? null : [new ConstantValue("STRING", result)];
    }

    private ComfyValue[]? Substitute(string id, JsonObject inputs, string text, PythonRegex regex)
    {
        var template = Text(id, inputs, "replace", null);
        var count = Integer(id, inputs, "count", 0);
        if (template is null || count is null || !Within(id, "count", count.Value, 0, 100)) return null;
        if (regex.Regex is null)
        {
            Error(id, "value_not_supported", "Invalid regular expression", $"regex_pattern: {regex.Invalid}", "regex_pattern");
            return null;
        }

        if (PythonRegex.HasAstral(template))
        {
            Error(id, "value_not_supported", "Value not supported", "replace: a character past U+FFFF (Python counts it as one character, .NET as two)", "replace");
            return null;
        }

        var replacement = PythonReplacement.Parse(template, regex);
        if (replacement.Invalid is { } invalid)
        {
            Error(id, "value_not_supported", "Invalid replacement", $"replace: {invalid}", "replace");
            return null;
        }

        var builder = new StringBuilder();
        var last = 0;
        var done = 0;
        foreach (var match in Matches(regex, text))
        {
            if (count.Value > 0 && done == count.Value) break;
            if (builder.Length + (match.Index - last) + replacement.Length(match) > MaxConstantText) return TooLong(id);
            builder.Append(text, last, match.Index - last);
            replacement.Expand(match, builder);
            last = match.Index + match.Length;
            done++;
        }

        if (builder.Length + (text.Length - last) > MaxConstantText) return TooLong(id);
        builder.Append(text, last, text.Length - last);
        return [new ConstantValue("STRING", JsonValue.Create(builder.ToString()))];
    }

    private ComfyValue[]? TooLong(string id)
    {
        Error(id, "value_not_supported", "Value not supported",
            $"replace: the result would pass {MaxConstantText.ToString("N0", CultureInfo.InvariantCulture)} characters", "replace");
        return null;
    }

    // Python's re.finditer: after a non-empty match the next search starts at its end; after an empty match at p it starts
    // at p again but may not end there. All searches together are bounded by RegexBudget.
    private static IEnumerable<Match> Matches(PythonRegex regex, string text)
    {
        var clock = Stopwatch.StartNew();
        var match = regex.Regex!.Match(text);
        while (match.Success)
        {
            yield return match;
            if (clock.Elapsed > RegexBudget) throw new RegexMatchTimeoutException(text, regex.Regex.ToString(), RegexBudget);
            var at = match.Index + match.Length;
            match = match.Length == 0 ? regex.MustAdvance!.Match(text, at) : regex.Regex.Match(text, at);
        }
    }
}
