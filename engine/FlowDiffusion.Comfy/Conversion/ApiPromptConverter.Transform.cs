using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>ComfyUI's flips, quarter turns, crops and pastes: LatentFlip, LatentRotate, ImageFlip, ImageRotate, LatentCrop, LatentComposite.</summary>
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

    // LatentComposite → latent.composite without a mask, with its feather; the destination's noise mask is kept.
    private ComfyValue[]? LatentComposite(string id, JsonObject inputs)
    {
        var to = Link<LatentValue>(id, inputs, "samples_to");
        var from = Link<LatentValue>(id, inputs, "samples_from");
        var x = Integer(id, inputs, "x", 0);
        var y = Integer(id, inputs, "y", 0);
        var feather = Integer(id, inputs, "feather", 0);
        if (to is null || from is null || x is null || y is null || feather is null
            || !Within(id, "x", x.Value, 0, 16384) | !Within(id, "y", y.Value, 0, 16384) | !Within(id, "feather", feather.Value, 0, 16384))
            return null;
        var node = Add(id, null, "latent.composite", [("destination", to.Latent), ("source", from.Latent)], [("x", x.Value), ("y", y.Value), ("feather", feather.Value)]);
        return [new LatentValue($"{node}.composited", to.Mask)];
    }

    // LatentCrop → latent.crop; as in ComfyUI the noise mask stays whole (the sampler resizes it to the cropped latents).
    private ComfyValue[]? LatentCrop(string id, JsonObject inputs)
    {
        var samples = Link<LatentValue>(id, inputs, "samples");
        var width = Integer(id, inputs, "width", 512);
        var height = Integer(id, inputs, "height", 512);
        var x = Integer(id, inputs, "x", 0);
        var y = Integer(id, inputs, "y", 0);
        if (samples is null || width is null || height is null || x is null || y is null
            || !Within(id, "width", width.Value, 64, 16384) | !Within(id, "height", height.Value, 64, 16384) | !Within(id, "x", x.Value, 0, 16384)
            | !Within(id, "y", y.Value, 0, 16384))
            return null;
        if (samples.Mask is not null)
        {
            // ComfyUI keeps the whole mask and its sampler squeezes it onto the crop; ours takes only a mask of the latent's size.
            Error(id, "value_not_supported", "Value not supported",
                "samples: a noise mask (SetLatentNoiseMask, VAEEncodeForInpaint) does not follow a cropped latent (ComfyUI's sampler squeezes the whole mask onto the crop); set the noise mask after LatentCrop", "samples");
            return null;
        }

        var node = Add(id, null, "latent.crop", [("latent", samples.Latent)], [("width", width.Value), ("height", height.Value), ("x", x.Value), ("y", y.Value)]);
        return [samples with { Latent = $"{node}.cropped" }];
    }
}
