namespace FlowDiffusion.ModelGenerator.Tokenizer;

/// <summary>The whole words the test models' vocabulary learns as single tokens; every other word falls apart into pieces.</summary>
internal static class PromptWords
{
    /// <summary>Colour words first (the analytic model keys on them), then common prompt words.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        "red", "green", "blue", "yellow", "cyan", "magenta", "white", "black", "gray", "grey", "orange", "purple",
        "a", "an", "the", "of", "on", "in", "with", "and", "at", "by", "to", "is",
        "photo", "photograph", "painting", "picture", "image", "drawing", "watercolor", "oil", "portrait", "landscape",
        "ball", "circle", "square", "background", "sky", "sea", "tree", "flower", "house", "car", "cat", "dog", "otter",
        "apple", "mountain", "city", "sunset", "light", "dark", "bright", "solid", "plain", "simple", "color", "colour",
        "small", "large", "big", "high", "quality", "detailed", "beautiful", "blurry", "ugly", "low", "bad", "art",
    ];
}
