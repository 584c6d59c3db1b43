using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>
/// ONNX graphs built from the ControlNet annotators' torch weights (<c>ControlNetHED.pth</c>: <see cref="HedCheckpoint"/>;
/// <c>table5_pidinet.pth</c>: <see cref="PidinetCheckpoint"/>;
/// <c>sk_model.pth</c>, <c>sk_model2.pth</c>: <see cref="LineartCheckpoint"/>; <c>netG.pth</c>: <see cref="AnimeLineartCheckpoint"/>;
/// Depth Anything's <c>.pth</c>: <see cref="DepthAnythingCheckpoint"/>; <c>dpt_hybrid-midas-501f0c75.pt</c>: <see cref="MidasCheckpoint"/>;
/// <c>mlsd_large_512_fp32.pth</c>: <see cref="MlsdCheckpoint"/>; <c>body_pose_model.pth</c>: <see cref="OpenPoseBodyCheckpoint"/>;
/// <c>hand_pose_model.pth</c>: <see cref="OpenPoseHandCheckpoint"/>; <c>facenet.pth</c>: <see cref="OpenPoseFaceCheckpoint"/>;
/// TEED's <c>7_model.pth</c>: <see cref="TeedCheckpoint"/>; MangaLineExtraction's <c>erika.pth</c>: <see cref="MangaLineCheckpoint"/>;
/// NormalBAE's <c>scannet.pt</c>: <see cref="NormalBaeCheckpoint"/>; LeReS's <c>res101.pth</c>: <see cref="LeresCheckpoint"/>),
/// kept in <c>annotators</c> beside the prepared checkpoints so each file is converted on its first use only.
/// </summary>
public static class AnnotatorModelCache
{
    // Part of the cache key: bump when the graph changes.
    private const string HedGraphVersion = "hed-1";
    private const string PidinetGraphVersion = "pidinet-1";
    private const string LineartGraphVersion = "lineart-1";
    private const string AnimeLineartGraphVersion = "lineart-anime-1";
    private const string DepthAnythingGraphVersion = "depth-anything-1";
    private const string MidasGraphVersion = "midas-1";
    private const string MlsdGraphVersion = "mlsd-2";
    private const string OpenPoseBodyGraphVersion = "openpose-body-1";
    private const string OpenPoseHandGraphVersion = "openpose-hand-1";
    private const string OpenPoseFaceGraphVersion = "openpose-face-1";
    private const string TeedGraphVersion = "teed-1";
    private const string MangaLineGraphVersion = "manga-line-1";
    private const string NormalBaeGraphVersion = "normal-bae-1";
    private const string LeresGraphVersion = "leres-1";

    /// <summary>The cache folder: <c>annotators</c> beside <see cref="CheckpointCache.DefaultRoot"/>.</summary>
    public static string DefaultRoot => PreparedGraphCache.RootOf("annotators");

    /// <summary>The prepared HED graph for <paramref name="path"/>, converting it first when the cache has none.</summary>
    public static string PrepareHed(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        Prepare(path, root, HedGraphVersion, HedCheckpoint.Open, (checkpoint, binding) => checkpoint.BuildGraph(binding), converting, limits);

    /// <summary>The prepared PiDiNet graph for <paramref name="path"/>, converting it first when the cache has none.</summary>
    public static string PreparePidinet(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        Prepare(path, root, PidinetGraphVersion, PidinetCheckpoint.Open, (checkpoint, binding) => checkpoint.BuildGraph(binding), converting, limits);

    /// <summary>The prepared lineart graph (realistic or coarse) for <paramref name="path"/>, converting it first when the cache has none.</summary>
    public static string PrepareLineart(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        Prepare(path, root, LineartGraphVersion, LineartCheckpoint.Open, (checkpoint, binding) => checkpoint.BuildGraph(binding), converting, limits);

    /// <summary>The prepared anime lineart graph for <paramref name="path"/>, converting it first when the cache has none.</summary>
    public static string PrepareAnimeLineart(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        Prepare(path, root, AnimeLineartGraphVersion, AnimeLineartCheckpoint.Open, (checkpoint, binding) => checkpoint.BuildGraph(binding), converting, limits);

    /// <summary>The prepared Depth Anything graph for <paramref name="path"/> read as <paramref name="version"/>, converting it first when the cache has none.</summary>
    public static string PrepareDepthAnything(string path, DepthAnythingVersion version, string root, Action? converting = null, ConversionLimits? limits = null) =>
        Prepare(path, root, $"{DepthAnythingGraphVersion}-{version}", DepthAnythingCheckpoint.Open,
            (checkpoint, binding) => checkpoint.BuildGraph(version, binding), converting, limits);

    /// <summary>The prepared MiDaS DPT-Hybrid graph for <paramref name="path"/>, converting it first when the cache has none.</summary>
    public static string PrepareMidas(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        Prepare(path, root, MidasGraphVersion, MidasCheckpoint.Open, (checkpoint, binding) => checkpoint.BuildGraph(binding), converting, limits);

    /// <summary>The prepared NormalBAE graph for <paramref name="path"/>, converting it first when the cache has none.</summary>
    public static string PrepareNormalBae(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        Prepare(path, root, NormalBaeGraphVersion, NormalBaeCheckpoint.Open, (checkpoint, binding) => checkpoint.BuildGraph(binding), converting, limits);

    /// <summary>The prepared LeReS graph for <paramref name="path"/>, converting it first when the cache has none.</summary>
    public static string PrepareLeres(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        Prepare(path, root, LeresGraphVersion, LeresCheckpoint.Open, (checkpoint, binding) => checkpoint.BuildGraph(binding), converting, limits);

    /// <summary>The prepared M-LSD graph for <paramref name="path"/>, converting it first when the cache has none.</summary>
    public static string PrepareMlsd(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        Prepare(path, root, MlsdGraphVersion, MlsdCheckpoint.Open, (checkpoint, binding) => checkpoint.BuildGraph(binding), converting, limits);

    /// <summary>The prepared OpenPose body graph for <paramref name="path"/>, converting it first when the cache has none.</summary>
    public static string PrepareOpenPoseBody(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        Prepare(path, root, OpenPoseBodyGraphVersion, OpenPoseBodyCheckpoint.Open, (checkpoint, binding) => checkpoint.BuildGraph(binding), converting, limits);

    /// <summary>The prepared OpenPose hand graph for <paramref name="path"/>, converting it first when the cache has none.</summary>
    public static string PrepareOpenPoseHand(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        Prepare(path, root, OpenPoseHandGraphVersion, OpenPoseHandCheckpoint.Open, (checkpoint, binding) => checkpoint.BuildGraph(binding), converting, limits);

    /// <summary>The prepared OpenPose face graph for <paramref name="path"/>, converting it first when the cache has none.</summary>
    public static string PrepareOpenPoseFace(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        Prepare(path, root, OpenPoseFaceGraphVersion, OpenPoseFaceCheckpoint.Open, (checkpoint, binding) => checkpoint.BuildGraph(binding), converting, limits);

    /// <summary>The prepared TEED graph for <paramref name="path"/>, converting it first when the cache has none.</summary>
    public static string PrepareTeed(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        Prepare(path, root, TeedGraphVersion, TeedCheckpoint.Open, (checkpoint, binding) => checkpoint.BuildGraph(binding), converting, limits);

    /// <summary>The prepared manga line graph for <paramref name="path"/>, converting it first when the cache has none.</summary>
    public static string PrepareMangaLine(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        Prepare(path, root, MangaLineGraphVersion, MangaLineCheckpoint.Open, (checkpoint, binding) => checkpoint.BuildGraph(binding), converting, limits);

    // Opens the checkpoint only when the cache has no graph for it, and closes it once the graph is built.
    private static string Prepare<TCheckpoint>(string path, string root, string graphVersion, Func<string, TCheckpoint> open,
        Func<TCheckpoint, WeightBinding, OnnxModel> build, Action? converting, ConversionLimits? limits) where TCheckpoint : IDisposable =>
        PreparedGraphCache.Prepare(path, root, binding =>
        {
            using var checkpoint = open(path);
            return build(checkpoint, binding);
        }, converting, limits, graphVersion);
}
