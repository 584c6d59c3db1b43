using FlowDiffusion.Comfy;
using FlowDiffusion.Comfy.Api;
using FlowDiffusion.Editor.Components;
using FlowDiffusion.Editor.Running;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Server;
using FlowDiffusion.Server.Api;

namespace FlowDiffusion.Editor;

/// <summary>Builds the editor web application: Blazor Server pages plus the engine and HTTP API in the same process.</summary>
public static class EditorHost
{
    /// <summary>The address used when neither <c>--urls</c> nor ASPNETCORE_URLS says otherwise: loopback only.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5180";

    /// <summary>The application, configured from appsettings, <c>FLOWDIFFUSION_</c> variables and <paramref name="args"/>.</summary>
    /// <exception cref="InvalidOperationException">A non-loopback URL without an API key.</exception>
    public static WebApplication Create(string[] args)
    {
        // A published editor (the .NET tool carries one) serves its wwwroot beside the assembly; a build serves from the manifest.
        var published = Path.Combine(AppContext.BaseDirectory, "wwwroot");
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = Environment.CurrentDirectory,
            WebRootPath = Directory.Exists(published) ? published : null,
        });
        builder.Configuration.AddEnvironmentVariables("FLOWDIFFUSION_").AddCommandLine(args);
        // Static assets come from the build's manifest outside Development too (dotnet run defaults to Production here).
        if (!Directory.Exists(published)) builder.WebHost.UseStaticWebAssets();
        var home = UseInstallationHome(builder.Configuration);
        var urls = (builder.Configuration["urls"] ?? DefaultUrl).Split(';', StringSplitOptions.RemoveEmptyEntries);
        if (ServerHost.BindingError(ServerHost.ListenUrls(builder.Configuration, urls), builder.Configuration[ServerOptions.Section + ":ApiKey"], allowWithoutApiKey: false) is { } error)
            throw new InvalidOperationException(error);
        builder.WebHost.UseUrls(urls);

        builder.Services.AddFlowDiffusionServer(builder.Configuration);
        builder.Services.AddPluginHotReload();
        builder.Services.AddComfyCompatibility();
        builder.Services.AddRazorComponents().AddInteractiveServerComponents()
            .AddHubOptions(hub => hub.MaximumReceiveMessageSize = 8 * 1024 * 1024);
        builder.Services.AddSingleton<EditorFiles>();
        if (home is not null) builder.Services.AddSingleton(home);
        builder.Services.AddScoped<EditorSession>();
        builder.Services.AddSingleton<RunHistory>();

        var app = builder.Build();
        var engine = app.Services.GetRequiredService<FlowDiffusion.Engine.Hosting.FlowDiffusionEngine>();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(EditorHost));
        if (home is not null) log.LogInformation("FlowDiffusion home: {Home} ({FoundBy})", home.Folder, home.FoundBy);
        if (InstallationHome.NoPluginsWarning(engine.Plugins.Plugins.Count, engine.Options.PluginFolders, home) is { } warning) log.LogWarning("{Warning}", warning);
        app.UseExceptionHandler("/error", createScopeForErrors: true);
        app.UseStatusCodePages();
        // Host and origin checks cover the whole editor: its Blazor circuit can run and save workflows as the API can.
        app.UseMiddleware<RequestOriginCheck>();
                app.UseWhen(c => c.Request.Path.StartsWithSegments("/api") || ComfyRoutes.IsComfyPath(c.Request.Path), api => api.UseMiddleware<ApiKeyCheck>());
        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapFlowDiffusionApi();
        app.MapComfyApi();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }

    // The home's folder becomes the working folder (plugins, models, workflows, outputs, data and the paths runs name),
    // unless configuration sets one: `dotnet run --project ui/FlowDiffusion.Editor` starts in the project folder.
    private static InstallationHome? UseInstallationHome(ConfigurationManager configuration)
    {
        const string workingFolder = ServerOptions.Section + ":WorkingFolder";
        var home = InstallationHome.Find(configuration[InstallationHome.ConfigurationKey]);
        if (home is not null && string.IsNullOrEmpty(configuration[workingFolder]))
            configuration.AddInMemoryCollection([new(workingFolder, home.Folder)]);
        return home;
    }
}
