using System.Globalization;
using FlowDiffusion.Imaging;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// One small run of each shipped workflow of the control and resolution features (ControlNet on SD 1.x and SDXL, depth
/// ControlNet, pose ControlNet, T2I-Adapter, IP-Adapter on SD 1.x and SDXL, IP-Adapter with a ControlNet, hires fix, model upscaling, outpainting, regional prompts) on the test models, shared by the
/// CLI, HTTP API and editor tests so that all three run the same workflows with the same inputs and check the same
/// pictures. The numerics are pinned against torch and closed forms in FlowDiffusion.Nodes.StableDiffusion.Tests; these
/// prove that each way in runs the shipped file with the inputs it is given. The depth model is a stand-in generated here
/// (its "depth" is the squared red channel), since no depth model can be downloaded, and so are the pose models
/// (<see cref="PoseStandIns"/>); the folder holding them is deleted on
/// <see cref="Dispose"/>.
/// </summary>
public sealed class ControlWorkflows : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("fd-control-workflows-").FullName;

    /// <summary>For the checkout the tests run from (the folder holding FlowDiffusion.sln above the test binaries); a class fixture.</summary>
    public ControlWorkflows() : this(FindRoot())
    {
    }

    // Writes the stand-in depth model and lays out the cases for the checkout at repositoryRoot.
    private ControlWorkflows(string repositoryRoot)
    {
        Root = repositoryRoot;
        TestData = Path.Combine(repositoryRoot, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData");
        DepthModel = Path.Combine(_scratch, "depth-stand-in.onnx");
        File.WriteAllBytes(DepthModel, RedSquaredDepth().ToBytes());
        PoseDetector = Path.Combine(_scratch, "pose-detector-stand-in.onnx");
        File.WriteAllBytes(PoseDetector, PoseStandIns.Detector(84).ToBytes());
        PoseModel = Path.Combine(_scratch, "pose-model-stand-in.onnx");
        File.WriteAllBytes(PoseModel, PoseStandIns.PoseModel(twoOutputs: true).ToBytes());
        Cases = Build();
    }

    /// <summary>The checkout.</summary>
    public string Root { get; }

    /// <summary>The generated test models (tiny checkpoints, ControlNets, IP-Adapter, ESRGANs).</summary>
    public string TestData { get; }

    /// <summary>The stand-in depth model (.onnx), in a temporary folder.</summary>
    public string DepthModel { get; }

    /// <summary>The stand-in person detector and pose model for image.pose (<see cref="PoseStandIns"/>), beside it.</summary>
    public string PoseDetector { get; }

    /// <inheritdoc cref="PoseDetector"/>
    public string PoseModel { get; }

    /// <summary>
    /// The folders a server or editor must let runs read for these cases (FlowDiffusion:InputFolders): the checkout's
    /// workflows (the sample image) and models (the tokenizer, analytic-sd), the test data and the stand-in depth model's folder.
    /// </summary>
    public IReadOnlyList<string> InputFolders => [Path.Combine(Root, "workflows"), Path.Combine(Root, "models"), TestData, _scratch];

    /// <summary>Every case, by workflow name.</summary>
    public IReadOnlyList<ControlWorkflowCase> Cases { get; }

    /// <summary>The case of <paramref name="workflow"/>.</summary>
    public ControlWorkflowCase this[string workflow] => Cases.Single(c => c.Workflow == workflow);

    /// <summary>The workflow names, for theories.</summary>
    public static readonly string[] Names =
        ["controlnet-txt2img", "controlnet-depth", "pose-controlnet", "sdxl-controlnet", "t2i-adapter", "ipadapter", "ipadapter-controlnet", "sdxl-ipadapter", "hires-fix", "upscale", "outpaint", "regional-prompts"];

    /// <inheritdoc />
    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private List<ControlWorkflowCase> Build()
    {
        var sd1 = Path.Combine(TestData, "sd1-tiny");
        var sdxl = Path.Combine(TestData, "sdxl-tiny");
        var tokenizer = Path.Combine(Root, "models", "tiny-sd", "tokenizer");
        // Tiny checkpoints draw noise: these runs check the size and that switching the feature off changes the picture.
        Dictionary<string, string> Tiny(string checkpoint) => new()
        {
            ["model"] = checkpoint, ["tokenizer_folder"] = tokenizer, ["width"] = "64", ["height"] = "64", ["steps"] = "3",
            ["seed"] = "5", ["cfg"] = "5", ["prompt"] = "a house", ["negative"] = "",
        };
        var analytic = Path.Combine(Root, "models", "analytic-sd");
        return
        [
            new("controlnet-txt2img", With(Tiny(Path.Combine(sd1, "ldm-fp16.safetensors")),
                ("controlnet", Path.Combine(sd1, "controlnet", "control-ldm-fp16.safetensors"))), 64, 64, Off: ("strength", "0")),
            new("controlnet-depth", With(Tiny(Path.Combine(sd1, "ldm-fp16.safetensors")),
                ("controlnet", Path.Combine(sd1, "controlnet", "control-ldm-fp16.safetensors")), ("depth_model", DepthModel), ("depth_resolution", "64")),
                64, 64, Off: ("strength", "0")),
            new("pose-controlnet", With(Tiny(Path.Combine(sd1, "ldm-fp16.safetensors")),
                ("controlnet", Path.Combine(sd1, "controlnet", "control-ldm-fp16.safetensors")), ("detector", PoseDetector), ("pose_model", PoseModel)),
                64, 64, Off: ("strength", "0")),
            new("sdxl-controlnet", With(Tiny(Path.Combine(sdxl, "sdxl-fp16.safetensors")),
                ("controlnet", Path.Combine(sdxl, "controlnet", "diffusers")), ("strength", "1")), 64, 64, Off: ("strength", "0")),
            new("ipadapter", With(Tiny(Path.Combine(sd1, "ldm-fp16.safetensors")),
                ("clip_vision", Path.Combine(sd1, "ipadapter", "clip-vision")), ("ipadapter", Path.Combine(sd1, "ipadapter", "ip-adapter.safetensors")),
                ("image", Path.Combine(sd1, "ipadapter", "image-a.png"))), 64, 64, Off: ("weight", "0")),
            new("t2i-adapter", With(Tiny(Path.Combine(sd1, "ldm-fp16.safetensors")),
                ("adapter", Path.Combine(sd1, "t2i-adapter", "adapter-fp16.safetensors"))), 64, 64, Off: ("strength", "0")),
            new("ipadapter-controlnet", With(Tiny(Path.Combine(sd1, "ldm-fp16.safetensors")),
                ("clip_vision", Path.Combine(sd1, "ipadapter", "clip-vision")), ("ipadapter", Path.Combine(sd1, "ipadapter", "ip-adapter.safetensors")),
                ("image", Path.Combine(sd1, "ipadapter", "image-a.png")), ("controlnet", Path.Combine(sd1, "controlnet", "control-ldm-fp16.safetensors"))),
                64, 64, Off: ("weight", "0")),
            // The SDXL adapter reads the tiny SD 1.x image tower's embeddings (its projection was made for that width).
            new("sdxl-ipadapter", With(Tiny(Path.Combine(sdxl, "sdxl-fp16.safetensors")),
                ("clip_vision", Path.Combine(sd1, "ipadapter", "clip-vision")), ("ipadapter", Path.Combine(sdxl, "ipadapter", "ip-adapter_sdxl.safetensors")),
                ("image", Path.Combine(sd1, "ipadapter", "image-a.png")), ("weight", "1")), 64, 64, Off: ("weight", "0")),
            // analytic-sd draws the prompt's colour exactly: blue stays blue through the upscale and the second pass.
            new("hires-fix", new Dictionary<string, string>
            {
                ["model"] = analytic, ["prompt"] = "a blue ball", ["cfg"] = "1", ["steps"] = "4", ["hires_steps"] = "4", ["width"] = "64",
                ["height"] = "64", ["hires_width"] = "128", ["hires_height"] = "96", ["denoise"] = "0.5",
            }, 128, 96, Check: p => Near(p, 0, 0, p.Width, p.Height, (0, 0, 1), 0.03, "the repainted image")),
            // The 4× RRDB upscaler (random weights) on a 10 × 12 image, then Lanczos at 0.5: 40 × 48, then 20 × 24.
            new("upscale", new Dictionary<string, string>
            {
                ["image"] = Path.Combine(TestData, "esrgan", "image.png"), ["upscale_model"] = Path.Combine(TestData, "esrgan", "rrdb-x4.safetensors"),
                ["rescale"] = "0.5",
            }, 20, 24),
            // The landscape at 48 × 48 padded 16 on the left and at the bottom: the border comes out red, the picture stays.
            new("outpaint", new Dictionary<string, string>
            {
                ["model"] = analytic, ["prompt"] = "red", ["cfg"] = "1", ["steps"] = "4", ["image_width"] = "48", ["image_height"] = "48",
                ["left"] = "16", ["bottom"] = "16", ["feathering"] = "8",
            }, 64, 64, Check: p =>
            {
                Near(p, 0, 0, 8, 64, (1, 0, 0), 0.05, "the new left border");
                Near(p, 0, 56, 64, 64, (1, 0, 0), 0.05, "the new bottom border");
                var kept = p.Mean(32, 0, 64, 32);
                Assert.True(Distance(kept, (1, 0, 0)) > 0.3, $"the image's top right corner became red too: {kept}");
            }),
            // analytic-sd's UNet works per pixel (RegionalPromptTests): blue everywhere, red on the left half and white on
            // the right at strength 2 give (blue + 2·red) / 3 and (blue + 2·white) / 3 away from the ramp at the middle.
            new("regional-prompts", new Dictionary<string, string>
            {
                ["model"] = analytic, ["background"] = "blue", ["left"] = "red", ["right"] = "white", ["strength"] = "2", ["negative"] = "",
                ["width"] = "128", ["height"] = "64", ["steps"] = "8", ["seed"] = "3", ["cfg"] = "1", ["karras"] = "true",
            }, 128, 64, Check: p =>
            {
                Near(p, 0, 0, 32, 64, (2 / 3.0, 0, 1 / 3.0), 0.02, "the left quarter");
                Near(p, 96, 0, 128, 64, (2 / 3.0, 2 / 3.0, 1), 0.02, "the right quarter");
            }),
        ];
    }

    /// <summary>
    /// Preprocessors as small workflows (no shipped workflow holds threshold or invert): the sample image at 64 × 64 and
    /// what each returns, checked against the input in closed form.
    /// </summary>
    public static IReadOnlyList<PreprocessorCase> Preprocessors { get; } =
    [
        new("image.canny", "edges", "low_threshold: 100, high_threshold: 200", (input, edges) =>
        {
            Assert.All(edges.Planar, v => Assert.True(v is 0 or 1, $"an edge map pixel is {v}"));
            double share = edges.Planar.Average();
            Assert.True(share is > 0.01 and < 0.5, $"{share:P1} of the pixels are edges");
        }),
        new("image.threshold", "result", "threshold: 0.5", (input, result) =>
        {
            // Luminance (BT.601, as ControlNet's scribble annotator) above the threshold is white; the 8-bit PNG rounds it.
            var plane = input.Width * input.Height;
            var wrong = 0;
            for (var i = 0; i < plane; i++)
            {
                var luma = 0.299 * input.Planar[i] + 0.587 * input.Planar[plane + i] + 0.114 * input.Planar[2 * plane + i];
                if (Math.Abs(luma - 0.5) > 0.01 && result.Planar[i] != (luma > 0.5 ? 1 : 0)) wrong++;
            }
            Assert.Equal(0, wrong);
        }),
        new("image.invert", "inverted", "", (input, inverted) =>
        {
            var worst = input.Planar.Zip(inverted.Planar, (a, b) => Math.Abs(1 - a - b)).Max();
            Assert.True(worst <= 1.0 / 255 + 1e-6, $"1 − input differs by up to {worst * 255:F1} levels");
        }),
    ];

    /// <summary>The mean colour of a rectangle must be within <paramref name="tolerance"/> of <paramref name="expected"/> in every channel.</summary>
    public static void Near(Picture picture, int x0, int y0, int x1, int y1, (double R, double G, double B) expected, double tolerance, string what)
    {
        var mean = picture.Mean(x0, y0, x1, y1);
        Assert.True(Math.Abs(mean.R - expected.R) <= tolerance && Math.Abs(mean.G - expected.G) <= tolerance && Math.Abs(mean.B - expected.B) <= tolerance,
            $"{what}: mean {mean}, expected {expected} within {tolerance}");
    }

    private static double Distance((double R, double G, double B) a, (double R, double G, double B) b) =>
        Math.Max(Math.Abs(a.R - b.R), Math.Max(Math.Abs(a.G - b.G), Math.Abs(a.B - b.B)));

    private static Dictionary<string, string> With(Dictionary<string, string> inputs, params (string Name, string Value)[] more)
    {
        foreach (var (name, value) in more) inputs[name] = value;
        return inputs;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FlowDiffusion.sln"))) return dir.FullName;
        throw new InvalidOperationException("FlowDiffusion.sln not found above " + AppContext.BaseDirectory);
    }

    // A stand-in for a MiDaS export: one input [1, 3, h, w], output [1, 1, h, w] = the (normalised) red channel squared.
    private static OnnxModel RedSquaredDepth()
    {
        var g = new GraphBuilder("depth-stand-in");
        var x = g.Input("image", TensorElementType.Float, 1, 3, "h", "w");
        var red = g.Slice(x, [0], [1], [1]);
        g.Output(g.Mul(red, red), "depth", TensorElementType.Float, 1, 1, "h", "w");
        return g.Build("test stand-in depth model: the normalised red channel squared");
    }
}

/// <summary>
/// One run of a shipped workflow: the inputs to set, the picture's size, what must hold of its pixels and, for features
/// whose effect on the tiny models' noise has no closed form, the input that switches the feature off (the picture must change).
/// </summary>
public sealed record ControlWorkflowCase(string Workflow, IReadOnlyDictionary<string, string> Inputs, int Width, int Height,
    Action<Picture>? Check = null, (string Name, string Value)? Off = null)
{
    /// <summary>The inputs as <c>--set name=value</c> arguments.</summary>
    public IEnumerable<string> SetArguments() => Inputs.SelectMany(p => new[] { "--set", $"{p.Key}={p.Value}" });

    /// <summary>Size, finite 0..1 pixels, some contrast (not one flat colour), then the case's own check.</summary>
    public void Verify(Picture picture)
    {
        Assert.Equal((Width, Height), (picture.Width, picture.Height));
        var spread = picture.Planar.Max() - picture.Planar.Min();
        Assert.True(spread > 0.02 || Check is not null, $"{Workflow}: the picture is one flat colour");
        Check?.Invoke(picture);
    }

    /// <inheritdoc />
    public override string ToString() => Workflow;
}

/// <summary>A preprocessor node, its output, its parameters (YAML flow-mapping body) and the check of its output against its input.</summary>
public sealed record PreprocessorCase(string Node, string Output, string Parameters, Action<Picture, Picture> Check)
{
    /// <summary>A workflow saving the sample image loaded at 64 × 64 (<c>source</c>) and the node's result (<c>result</c>).</summary>
    public string Yaml(string image) => $$"""
        flowdiffusion: 1
        name: {{Node.Replace('.', '-')}}
        nodes:
          image: { node: image.load, with: { path: "{{image}}", width: 64, height: 64 } }
          source: { node: image.save, in: { images: image.image }, with: { prefix: source } }
          step: { node: {{Node}}, in: { image: image.image }{{(Parameters.Length > 0 ? ", with: { " + Parameters + " }" : "")}} }
          result: { node: image.save, in: { images: step.{{Output}} }, with: { prefix: result } }
        """;

    /// <inheritdoc />
    public override string ToString() => Node;
}

/// <summary>A decoded picture as planar RGB in 0..1 (the graph's layout).</summary>
public sealed record Picture(int Width, int Height, float[] Planar)
{
    /// <summary>Decodes a PNG or JPEG file's bytes.</summary>
    public static Picture Decode(byte[] file)
    {
        using var pixels = RgbaPixels.Decode(file, "output");
        var plane = pixels.Width * pixels.Height;
        var planar = new float[3 * plane];
        for (var i = 0; i < plane; i++)
            for (var c = 0; c < 3; c++)
                planar[c * plane + i] = pixels.Bytes[4 * i + c] / 255f;
        return new Picture(pixels.Width, pixels.Height, planar);
    }

    /// <summary>The mean (r, g, b) over columns x0..x1 and rows y0..y1 (ends excluded).</summary>
    public (double R, double G, double B) Mean(int x0, int y0, int x1, int y1)
    {
        var plane = Width * Height;
        double r = 0, g = 0, b = 0;
        for (var y = y0; y < y1; y++)
            for (var x = x0; x < x1; x++)
            {
                var i = y * Width + x;
                r += Planar[i];
                g += Planar[plane + i];
                b += Planar[2 * plane + i];
            }
        var n = (double)(x1 - x0) * (y1 - y0);
        return (Math.Round(r / n, 4), Math.Round(g / n, 4), Math.Round(b / n, 4));
    }

    /// <summary>The largest difference of any channel of any pixel between two pictures of the same size.</summary>
    public double MaxDifference(Picture other) => Planar.Zip(other.Planar, (a, b) => Math.Abs(a - b)).Max();

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Width}×{Height}");
}
