using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>ComfyUI's flips and quarter turns: LatentFlip, LatentRotate, ImageFlip and ImageRotate.</summary>
public sealed partial class ApiPromptConverter
{
    private static readonly string[] FlipMethods = ["x-axis: vertically", "y-axis: horizontally"];
    private static readonly string[] Rotations = ["none", "90 degrees", "180 degrees", "270 degrees"];

    // LatentFlip → latent.flip, ImageFlip → image.flip; a latent keeps its noise mask, as ComfyUI's (it is not flipped).
    private ComfyValue[]? Flip(string id, JsonObject inputs, bool latent)
    {
        var method = Choice(id, inputs, "flip_method", FlipMethods[0], FlipMethods);
        if (latent)
        {
            var samples = Link<LatentValue>(id, inputs, "samples");
            if (samples is null || method is null) return null;
            return [samples with { Latent = $"{Add(id, null, "latent.flip", [("latent", samples.Latent)], [("flip_method", method)])}.flipped" }];
        }

        var image = Link<ImageValue>(id, inputs, "image");
        if (image is null || method is null) return null;
        return [new ImageValue($"{Add(id, null, "image.flip", [("image", image.Image)], [("flip_method", method)])}.flipped")];
    }

    // LatentRotate → latent.rotate, ImageRotate → image.rotate: clockwise quarter turns.
    private ComfyValue[]? Rotate(string id, JsonObject inputs, bool latent)
    {
        var rotation = Choice(id, inputs, "rotation", Rotations[0], Rotations);
        if (latent)
        {
            var samples = Link<LatentValue>(id, inputs, "samples");
            if (samples is null || rotation is null) return null;
            return [samples with { Latent = $"{Add(id, null, "latent.rotate", [("latent", samples.Latent)], [("rotation", rotation)])}.rotated" }];
        }

        var image = Link<ImageValue>(id, inputs, "image");
        if (image is null || rotation is null) return null;
        return [new ImageValue($"{Add(id, null, "image.rotate", [("image", image.Image)], [("rotation", rotation)])}.rotated")];
    }
}
