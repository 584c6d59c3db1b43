using FlowDiffusion.Comfy;
using FlowDiffusion.Comfy.A1111;
using FlowDiffusion.Comfy.Api;
using FlowDiffusion.Editor.Components;
using FlowDiffusion.Editor.Running;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Server;
using FlowDiffusion.Server.Api;

namespace FlowDiffusion.Editor;

/// <summary>
/// Builds the editor web application: Blazor Server pages plus the engine and HTTP API in the same process; or, with
/// <c>--server URL</c> (<see cref="EditorOptions.Server"/>), the pages alone over a FlowDiffusion server that queues,
/// runs and keeps the runs (a cluster's coordinator included): this process then executes none and serves no API.
/// </summary>
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
        builder.Configuration.AddEnvironmentVariables("FLOWDIFFUSION_").AddCommandLine(args, EditorOptions.Switches);
        var server = RemoteServer.From(builder.Configuration.GetSection(EditorOptions.Section).Get<EditorOptions>() ?? new EditorOptions());
        // Runs go to the server: nothing executes here (the local run store stays empty).
        if (server is not null) builder.Configuration.AddInMemoryCollection([new(ServerOptions.Section + ":ExecuteRuns", "false")]);
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
        if (server is not null) builder.Services.AddSingleton(server);

        var app = builder.Build();
        var engine = app.Services.GetRequiredService<FlowDiffusion.Engine.Hosting.FlowDiffusionEngine>();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(EditorHost));
        if (home is not null) log.LogInformation("FlowDiffusion home: {Home} ({FoundBy})", home.Folder, home.FoundBy);
        if (server is not null) log.LogInformation("Runs are queued on {Server} (--server); history and outputs come from it.", server.Name);
        if (InstallationHome.NoPluginsWarning(engine.Plugins.Plugins.Count, engine.Options.PluginFolders, home) is { } warning) log.LogWarning("{Warning}", warning);
        app.UseExceptionHandler("/error", createScopeForErrors: true);
        app.UseStatusCodePages();
        // Host and origin checks cover the whole editor: its Blazor circuit can run and save workflows as the API can.
        app.UseMiddleware<RequestOriginCheck>();
        app.UseWhen(c => c.Request.Path.StartsWithSegments("/api") || ComfyRoutes.IsComfyPath(c.Request.Path), api => api.UseMiddleware<ApiKeyCheck>());
        app.UseAntiforgery();
        app.MapStaticAssets();
        // Attached to a server, the API is that server's: one serving this process's empty queue would only mislead.
        if (server is null)
        {
            app.MapFlowDiffusionApi();
            app.MapComfyApi();
            app.MapA1111Api();
        }
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
