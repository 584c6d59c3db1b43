namespace FlowDiffusion.Editor.Graph;

/// <summary>How <see cref="GraphDocument.Align"/> lines nodes up.</summary>
public enum Alignment
{
    /// <summary>Left edges on the leftmost one.</summary>
    Left,

    /// <summary>Tops on the topmost one.</summary>
    Top,

    /// <summary>Evenly spaced left to right between the outermost two.</summary>
    Horizontal,

    /// <summary>Evenly spaced top to bottom between the outermost two.</summary>
    Vertical,
}
