namespace FlowDiffusion.Editor.Graph;

/// <summary>A drawn link: output <see cref="Output"/> of <see cref="FromNode"/> feeds input <see cref="Input"/> of <see cref="ToNode"/>.</summary>
public sealed record GraphLink(string FromNode, string Output, string ToNode, string Input);
