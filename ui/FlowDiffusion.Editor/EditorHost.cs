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
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = Environment.CurrentDirectory });
        builder.Configuration.AddEnvironmentVariables("FLOWDIFFUSION_").AddCommandLine(args);
        // Static assets come from the build's manifest outside Development too (dotnet run defaults to Production here).
        builder.WebHost.UseStaticWebAssets();
        var urls = (builder.Configuration["urls"] ?? DefaultUrl).Split(';', StringSplitOptions.RemoveEmptyEntries);
        if (ServerHost.BindingError(ServerHost.ListenUrls(builder.Configuration, urls), builder.Configuration[ServerOptions.Section + ":ApiKey"], allowWithoutApiKey: false) is { } error)
            throw new InvalidOperationException(error);
        builder.WebHost.UseUrls(urls);

        builder.Services.AddFlowDiffusionServer(builder.Configuration);
        builder.Services.AddPluginHotReload();
        builder.Services.AddRazorComponents().AddInteractiveServerComponents()
            .AddHubOptions(hub => hub.MaximumReceiveMessageSize = 8 * 1024 * 1024);
        builder.Services.AddSingleton<EditorFiles>();
        builder.Services.AddScoped<EditorSession>();

        var app = builder.Build();
        app.UseExceptionHandler("/error", createScopeForErrors: true);
        app.UseStatusCodePages();
        // Host and origin checks cover the whole editor: its Blazor circuit can run and save workflows as the API can.
        app.UseMiddleware<RequestOriginCheck>();
        app.UseWhen(c => c.Request.Path.StartsWithSegments("/api"), api => api.UseMiddleware<ApiKeyCheck>());
        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapFlowDiffusionApi();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }
}
