using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Control;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using Microsoft.Extensions.Logging;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Sets a union ControlNet's control type (ComfyUI's SetUnionControlNetType).</summary>
[Node("controlnet.union_type", "1.0.0", Category = "conditioning", Title = "Set Union ControlNet Type",
    Description = "Chooses which control a union ControlNet (xinsir's ControlNet++ / promax, one model for pose, depth, edges, tile, inpainting …) reads its control image as. \"auto\" gives it no type: the image alone decides. On a ControlNet of one type the type is ignored, as in ComfyUI.")]
public sealed class ControlNetUnionTypeNode : INode
{
    /// <summary>The ControlNet.</summary>
    [Input(Description = "The union ControlNet (controlnet.load).")]
    public IControlNet? ControlNet { get; set; }

    /// <summary>The control type.</summary>
    [Parameter(Description = "The control type: auto (none), or the kind of control image given (openpose 0, depth 1, hed/pidi/scribble/ted 2, canny/lineart/anime_lineart/mlsd 3, normal 4, segment 5, tile 6, repaint 7 — promax's eight; the first release knows 0 to 5).", ChoicesFrom = typeof(ControlNetUnionTypeNames))]
    public string Type { get; set; } = UnionControlTypes.Auto;

    /// <summary>The ControlNet with the type set.</summary>
    [Output(Description = "The ControlNet with its control type, for controlnet.apply.")]
    public IControlNet? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var type = UnionControlTypes.IndexOf(Type, "type");
        if (ControlNet is not ControlNetHandle net || net.Model.UnionTypes == 0)
        {
            if (type is not null)
            {
                context.Logger.LogWarning("type: '{Type}' is ignored: '{Name}' is not a union ControlNet (ComfyUI ignores it too)", Type, ControlNet?.Name);
            }

            Result = ControlNet;
            return Task.CompletedTask;
        }

        if (type >= net.Model.UnionTypes)
        {
            throw new ArgumentException($"type: '{Type}' is control type {type}; the union ControlNet '{net.Name}' knows {net.Model.UnionTypes} ({string.Join(", ", UnionControlTypes.Names.Take(net.Model.UnionTypes))})");
        }

        Result = net.WithControlType(type);
        return Task.CompletedTask;
    }
}
