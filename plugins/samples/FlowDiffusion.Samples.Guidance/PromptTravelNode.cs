using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Samples.Guidance;

/// <summary>Prompt travel: the positive conditioning moves from one prompt to another over the sampling steps.</summary>
[Node("guidance.prompt_travel", "1.0.0", Category = "sampling", Title = "Prompt Travel",
    Description = "Classifier-free guidance whose positive prompt travels from 'from' to 'to' over the steps: the first step sees 'from', the last sees 'to', the ones between a linear blend of the two embeddings.")]
public sealed class PromptTravelNode : INode
{
    /// <summary>The denoiser.</summary>
    [Input(Description = "The denoiser.")]
    public IDenoiser? Denoiser { get; set; }

    /// <summary>Where the prompt starts.</summary>
    [Input(Description = "The conditioning of the first step.")]
    public Conditioning? From { get; set; }

    /// <summary>Where the prompt ends.</summary>
    [Input(Description = "The conditioning of the last step.")]
    public Conditioning? To { get; set; }

    /// <summary>The negative conditioning.</summary>
    [Input(Description = "What to steer away from (the unconditional half).")]
    public Conditioning? Negative { get; set; }

    /// <summary>The guidance scale.</summary>
    [Parameter(Description = "Guidance scale; 1 evaluates the travelling prompt alone.", Min = 0, Max = 100, Step = 0.5)]
    public double Scale { get; set; } = 7.5;

    /// <summary>The guider.</summary>
    [Output(Description = "The guider.")]
    public IGuider? Guider { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        if (From!.Tokens != To!.Tokens || From.Dim != To.Dim || From.Batch != To.Batch)
            throw new ArgumentException($"'from' is [{From.Batch}, {From.Tokens}, {From.Dim}] but 'to' is [{To.Batch}, {To.Tokens}, {To.Dim}]; travel needs prompts of the same length (77-token chunks) and batch");
        Guider = new PromptTravelGuider(Denoiser!, From, To, Negative!, (float)Scale);
        return Task.CompletedTask;
    }
}
