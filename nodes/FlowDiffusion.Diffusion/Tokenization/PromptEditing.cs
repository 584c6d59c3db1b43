using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace FlowDiffusion.Diffusion.Tokenization;

/// <summary>
/// AUTOMATIC1111's prompt editing and alternation: <c>[from:to:when]</c> switches from one text to another after step
/// <c>when</c> (a number with a decimal point is a fraction of the steps, one without a step number), <c>[to:when]</c>
/// adds text, <c>[from::when]</c> removes it, and <c>[a|b|c]</c> takes the next text at every step; they nest, and
/// emphasis brackets stay in the text for <see cref="PromptWeighting"/>. The grammar and the step rules are A1111's
/// (its <c>prompt_parser</c>, with "new" scheduling): a prompt the grammar does not accept is used as written.
/// </summary>
public sealed partial class PromptEditing
{
    /// <summary>The most different texts one prompt may edit into.</summary>
    public const int MaxVariants = 64;

    private readonly Node _root;
    private readonly Dictionary<string, int> _variantIndex;
    private readonly Dictionary<int, (int EndStep, int Variant)[]> _schedules = [];

    private PromptEditing(Node root, IReadOnlyList<string> variants)
    {
        _root = root;
        Variants = variants;
        _variantIndex = variants.Select((text, i) => (text, i)).ToDictionary(p => p.text, p => p.i, StringComparer.Ordinal);
    }

    /// <summary>Every text the prompt can take, the one of its first step (all edits before their switch, first alternatives) first.</summary>
    public IReadOnlyList<string> Variants { get; }

    /// <summary>
    /// The edits of <paramref name="prompt"/>, or null when it has none (or does not parse, as A1111 then uses the text as written).
    /// </summary>
    /// <exception cref="ArgumentException">The prompt edits into more than <see cref="MaxVariants"/> different texts.</exception>
    public static PromptEditing? Parse(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        if (prompt.IndexOf('[', StringComparison.Ordinal) < 0) return null;
        var root = new Parser(prompt).Start();
        if (root is null || !root.HasEdits) return null;
        var first = root.Render(null);
        var variants = new List<string> { first };
        foreach (var text in root.Possible())
        {
            if (text != first) variants.Add(text);
        }

        return new PromptEditing(root, variants);
    }

    /// <summary>
    /// A1111's schedule for <paramref name="steps"/> steps: each text with the last step it applies to, ascending, ending
    /// at <paramref name="steps"/> (<c>get_learned_conditioning_prompt_schedules</c>).
    /// </summary>
    public IReadOnlyList<(int EndStep, string Text)> Schedule(int steps) => [.. ScheduleOf(steps).Select(e => (e.EndStep, Variants[e.Variant]))];

    /// <summary>
    /// The index in <see cref="Variants"/> of the text A1111 conditions with at model evaluation <paramref name="step"/>
    /// (0-based) of <paramref name="steps"/>: the first schedule entry whose last step is not below it, the first entry past
    /// the end (<c>reconstruct_cond_batch</c>).
    /// </summary>
    public int VariantAt(int step, int steps)
    {
        var schedule = ScheduleOf(steps);
        foreach (var (endStep, variant) in schedule)
        {
            if (step <= endStep) return variant;
        }

        return schedule[0].Variant;
    }

    private (int EndStep, int Variant)[] ScheduleOf(int steps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        lock (_schedules)
        {
            if (_schedules.TryGetValue(steps, out var cached)) return cached;
            var ends = new SortedSet<int> { steps };
            _root.CollectSteps(steps, ends);
            var schedule = ends.Select(end => (end, _variantIndex[_root.Render(new Steps(end, steps))])).ToArray();
            if (_schedules.Count < 64) _schedules[steps] = schedule;
            return schedule;
        }
    }

    // The step a text is rendered at and the step count its fractions refer to; null renders the first step's text.
    private sealed record Steps(int Step, int Total);

    private abstract class Node
    {
        public virtual bool HasEdits => false;

        public abstract string Render(Steps? at);

        public abstract IReadOnlyList<string> Possible();

        public virtual void CollectSteps(int steps, SortedSet<int> ends)
        {
        }
    }

    private sealed class Text(string value) : Node
    {
        public string Value => value;

        public override string Render(Steps? at) => value;

        public override IReadOnlyList<string> Possible() => [value];
    }

    private sealed class Sequence(IReadOnlyList<Node> items) : Node
    {
        public override bool HasEdits => items.Any(i => i.HasEdits);

        public override string Render(Steps? at)
        {
            var builder = new StringBuilder();
            foreach (var item in items) builder.Append(item.Render(at));
            return builder.ToString();
        }

        public override IReadOnlyList<string> Possible()
        {
            List<string> texts = [""];
            foreach (var item in items)
            {
                var options = item.Possible();
                if (options.Count == 1)
                {
                    for (var i = 0; i < texts.Count; i++) texts[i] += options[0];
                    continue;
                }

                var next = new List<string>();
                foreach (var text in texts)
                foreach (var option in options)
                {
                    next.Add(text + option);
                }

                texts = [.. next.Distinct(StringComparer.Ordinal)];
                if (texts.Count > MaxVariants)
                    throw new ArgumentException($"the prompt's edits and alternations ([from:to:when], [a|b]) give more than {MaxVariants} different prompts");
            }

            return texts;
        }

        public override void CollectSteps(int steps, SortedSet<int> ends)
        {
            foreach (var item in items) item.CollectSteps(steps, ends);
        }
    }

    // [before:after:when]; before is null in [after:when].
    private sealed class Scheduled(Sequence? before, Sequence after, string when) : Node
    {
        public override bool HasEdits => true;

        public override string Render(Steps? at) =>
            at is null || at.Step <= When(at.Total) ? before?.Render(at) ?? "" : after.Render(at);

        public override IReadOnlyList<string> Possible() =>
            [.. (before?.Possible() ?? [""]).Concat(after.Possible()).Distinct(StringComparer.Ordinal)];

        public override void CollectSteps(int steps, SortedSet<int> ends)
        {
            var step = When(steps);
            if (step >= 1) ends.Add(step);
            before?.CollectSteps(steps, ends);
            after.CollectSteps(steps, ends);
        }

        // A1111: a number with a decimal point is a fraction of the steps, else a step; truncated, at most the steps.
        private int When(int steps)
        {
            var value = double.Parse(when, NumberStyles.Float, CultureInfo.InvariantCulture);
            if (when.Contains('.', StringComparison.Ordinal)) value *= steps;
            var truncated = Math.Truncate(value);
            return truncated >= steps ? steps : truncated <= int.MinValue ? int.MinValue : (int)truncated;
        }
    }

    // [a|b|…]: the option (step − 1) mod n at each step.
    private sealed class Alternate(IReadOnlyList<Sequence> options) : Node
    {
        public override bool HasEdits => true;

        public override string Render(Steps? at) => options[at is null ? 0 : ((at.Step - 1) % options.Count + options.Count) % options.Count].Render(at);

        public override IReadOnlyList<string> Possible() => [.. options.SelectMany(o => o.Possible()).Distinct(StringComparer.Ordinal)];

        public override void CollectSteps(int steps, SortedSet<int> ends)
        {
            for (var step = 1; step <= steps; step++) ends.Add(step);
            foreach (var option in options) option.CollectSteps(steps, ends);
        }
    }

    // A recursive-descent reading of A1111's grammar:
    //   start:      (prompt | /[][():]/+)*
    //   prompt:     (emphasized | scheduled | alternate | plain)*
    //   emphasized: "(" prompt ")" | "(" prompt ":" prompt ")" | "[" prompt "]"
    //   scheduled:  "[" [prompt ":"] prompt ":" [WHITESPACE] NUMBER [WHITESPACE] "]"
    //   alternate:  "[" prompt ("|" [prompt])+ "]"
    //   plain:      /([^\\\[\]():|]|\\.)+/
    // Structured readings are preferred; a bracket none accepts is text at the top level only.
    private sealed partial class Parser(string text)
    {
        private const int MaxDepth = 64;
        private readonly Dictionary<int, (Sequence Prompt, int Next)> _prompts = [];
        private int _depth;

        public Sequence? Start()
        {
            var items = new List<Node>();
            var position = 0;
            while (position < text.Length)
            {
                var (prompt, next) = Prompt(position);
                if (prompt is null) return null;
                items.Add(prompt);
                if (next == position)
                {
                    if ("[]():".Contains(text[position], StringComparison.Ordinal)) items.Add(new Text(text[position].ToString()));
                    else return null; // a '|' or a lone trailing '\' outside any bracket
                    next++;
                }

                position = next;
            }

            return new Sequence(items);
        }

        // The longest prompt from position; null only when the nesting is too deep. Each position is read once, so
        // unmatched brackets re-read at the top level cost nothing more.
        private (Sequence? Prompt, int Next) Prompt(int position)
        {
            if (_prompts.TryGetValue(position, out var known)) return known;
            if (++_depth > MaxDepth)
            {
                _depth--;
                return (null, position);
            }

            try
            {
                var start = position;
                var items = new List<Node>();
                while (position < text.Length)
                {
                    var plain = Plain().Match(text, position);
                    if (plain.Success && plain.Index == position)
                    {
                        items.Add(new Text(plain.Value));
                        position += plain.Length;
                        continue;
                    }

                    var (node, next) = text[position] switch
                    {
                        '[' => Square(position),
                        '(' => Round(position),
                        _ => (null, position),
                    };
                    if (node is null) break;
                    items.Add(node);
                    position = next;
                }

                var result = (new Sequence(items), position);
                _prompts[start] = result;
                return result;
            }
            finally
            {
                _depth--;
            }
        }

        private (Node? Node, int Next) Square(int position)
        {
            // scheduled with before, scheduled without, alternate, then emphasis.
            var (first, afterFirst) = Prompt(position + 1);
            if (first is null) return (null, position);
            if (At(afterFirst, ':'))
            {
                var (second, afterSecond) = Prompt(afterFirst + 1);
                if (second is not null && At(afterSecond, ':') && When(afterSecond + 1) is { } withBefore)
                    return (new Scheduled(first, second, withBefore.Number), withBefore.Next);
                if (When(afterFirst + 1) is { } without)
                    return (new Scheduled(null, first, without.Number), without.Next);
                return (null, position);
            }

            if (At(afterFirst, '|'))
            {
                var options = new List<Sequence> { first };
                var at = afterFirst;
                while (At(at, '|'))
                {
                    var (option, next) = Prompt(at + 1);
                    if (option is null) return (null, position);
                    options.Add(option);
                    at = next;
                }

                return At(at, ']') ? (new Alternate(options), at + 1) : (null, position);
            }

            return At(afterFirst, ']') ? (Emphasis("[", first, "]"), afterFirst + 1) : (null, position);
        }

        private (Node? Node, int Next) Round(int position)
        {
            var (first, afterFirst) = Prompt(position + 1);
            if (first is null) return (null, position);
            if (At(afterFirst, ')')) return (Emphasis("(", first, ")"), afterFirst + 1);
            if (!At(afterFirst, ':')) return (null, position);
            var (second, afterSecond) = Prompt(afterFirst + 1);
            if (second is null || !At(afterSecond, ')')) return (null, position);
            return (new Sequence([new Text("("), first, new Text(":"), second, new Text(")")]), afterSecond + 1);
        }

        // ":" [WHITESPACE] NUMBER [WHITESPACE] "]" after the colon: the number as written and the position after "]".
        private (string Number, int Next)? When(int position)
        {
            var match = Number().Match(text, position);
            return match.Success && match.Index == position ? (match.Groups["number"].Value, position + match.Length) : null;
        }

        private bool At(int position, char c) => position < text.Length && text[position] == c;

        private static Sequence Emphasis(string open, Sequence inner, string close) => new([new Text(open), inner, new Text(close)]);

        [GeneratedRegex(@"\G(?:[^\\\[\]():|]|\\.)+", RegexOptions.Singleline)]
        private static partial Regex Plain();

        [GeneratedRegex(@"\G\s*(?<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*\]")]
        private static partial Regex Number();
    }
}
