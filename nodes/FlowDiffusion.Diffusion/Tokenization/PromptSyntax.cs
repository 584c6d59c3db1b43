namespace FlowDiffusion.Diffusion.Tokenization;

/// <summary>Whose prompt syntax and window packing a prompt is read with.</summary>
public enum PromptSyntax
{
    /// <summary>AUTOMATIC1111's: round and square brackets weigh, weights nest by multiplying, <c>BREAK</c> starts a window, tokens fill windows in order.</summary>
    A1111,

    /// <summary>ComfyUI's: only round brackets weigh (<see cref="ComfyPromptWeighting"/>), words move whole to the next window.</summary>
    ComfyUI,
}
