using FlowDiffusion.Comfy.Api;
using FlowDiffusion.Comfy.Backend;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Comfy;

/// <summary>Registers the ComfyUI compatibility layer's services (after <c>AddFlowDiffusionServer</c>).</summary>
public static class ComfyServiceCollectionExtensions
{
    /// <summary>The folder under the data folder where ComfyUI uploads land.</summary>
    public const string InputFolderName = "comfy-input";

    /// <summary>Adds the backend adapter, the prompt tracker, the socket hub, the folder map and the A1111 API's jobs and settings.</summary>
    public static IServiceCollection AddComfyCompatibility(this IServiceCollection services)
    {
        // LoadImage reads what ComfyUI clients uploaded, and LoadImageOutput (or an "[output]" name) what earlier prompts
        // saved, so both folders join the folders runs may read inputs from.
        services.PostConfigure<FlowDiffusionOptions>(engine =>
        {
            if (engine.InputFolders.Count == 0) engine.InputFolders.AddRange(engine.EffectiveInputFolders);
            engine.InputFolders.Add(Path.Combine(engine.DataFolder, InputFolderName));
            engine.InputFolders.Add(engine.OutputFolder);
        });
        services.AddSingleton<IComfyBackend, ServerComfyBackend>();
        services.AddSingleton<ComfySockets>();
        services.AddSingleton<ComfyHistory>();
        services.AddSingleton<ComfyPrompts>();
        services.AddSingleton<A1111.A1111Settings>();
        services.AddSingleton<A1111.A1111Jobs>();
        services.AddSingleton(sp =>
        {
            var engine = sp.GetRequiredService<IOptions<FlowDiffusionOptions>>().Value;
            var server = sp.GetRequiredService<IOptions<ServerOptions>>().Value;
            var working = Path.GetFullPath(server.WorkingFolder is { Length: > 0 } root ? root : Environment.CurrentDirectory);
            if (server.PreviewMethod is not (ComfyFolders.LinearPreviews or ComfyFolders.TaesdPreviews or ComfyFolders.AutoPreviews))
                throw new InvalidOperationException($"FlowDiffusion:Server:PreviewMethod is '{server.PreviewMethod}'; use {ComfyFolders.LinearPreviews}, {ComfyFolders.TaesdPreviews} or {ComfyFolders.AutoPreviews}.");
            return new ComfyFolders(Path.GetFullPath(engine.ModelsFolder, working), working,
                Path.Combine(Path.GetFullPath(engine.DataFolder, working), InputFolderName))
            {
                OutputFolder = Path.GetFullPath(engine.OutputFolder, working),
                PreviewMethod = server.PreviewMethod,
            };
        });
        return services;
    }
}
