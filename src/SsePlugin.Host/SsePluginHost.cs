using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Serilog;
using SsePlugin.Examples;
using SsePlugin.Host.Security;
using SsePlugin.Server;

namespace SsePlugin.Host;

/// <summary>Builds the console host: configuration, logging, Kestrel (HTTP/2, with mutual TLS when a certificate folder is given) and the SSE server.</summary>
public static class SsePluginHost
{
    private static readonly Dictionary<string, string> Switches = new()
    {
        ["--port"] = "SsePlugin:Port",
        ["--bind"] = "SsePlugin:Bind",
        ["--functions-folder"] = "SsePlugin:FunctionsFolder",
        ["--functions"] = "SsePlugin:FunctionsFile",
        ["--allow-script"] = "SsePlugin:AllowScript",
        ["--certs"] = "SsePlugin:Certs",
    };

    /// <summary>Builds the host from command-line arguments, <c>appsettings.json</c> and environment variables.</summary>
    /// <param name="args">The command line: <c>--port</c>, <c>--bind</c>, <c>--functions-folder</c> and any <c>--Section:Key value</c>.</param>
    /// <param name="configureServices">Adds services, e.g. more function classes; the example functions are always there.</param>
    /// <returns>The built application, not yet listening.</returns>
    public static WebApplication Build(string[] args, Action<IServiceCollection>? configureServices = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddCommandLine(args, Switches);

        // Each host logs through a logger of its own (not the static Log.Logger), so that hosts sharing a process, as
        // in the tests, never write to each other's sinks; start-up failures still go to Program's bootstrap logger.
        builder.Services.AddSerilog((services, logger) => logger
            .ReadFrom.Configuration(builder.Configuration)
            .ReadFrom.Services(services)
            .Enrich.FromLogContext()
            .WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}"), preserveStaticLogger: true);

        var section = builder.Configuration.GetSection(SsePluginOptions.Section);
        var options = section.Get<SsePluginOptions>() ?? new SsePluginOptions();
        builder.Services.Configure<SsePluginOptions>(section);
        builder.Services.AddSsePlugin().AddSseFunctionsFrom(typeof(HelloWorldFunctions).Assembly);
        if (!string.IsNullOrWhiteSpace(options.FunctionsFolder))
        {
            builder.Services.AddSseFunctionsFromFolder(options.FunctionsFolder);
        }

        if (!string.IsNullOrWhiteSpace(options.FunctionsFile))
        {
            builder.Services.AddSseFunctionsFile(options.FunctionsFile);
        }

        configureServices?.Invoke(builder.Services);

        // Loaded now, so a bad certificate folder stops the host before any port opens; it never falls back to plaintext.
        var certificates = string.IsNullOrWhiteSpace(options.Certs) ? null : CertificateFolder.Load(options.Certs);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Parse(options.Bind), options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                certificates?.UseFor(listen);
            });

            // Flow-control windows a little above Kestrel's defaults keep Qlik's bundles streaming without waiting
            // for window updates, while bounding what a fast sender can make the host buffer.
            kestrel.Limits.Http2.InitialConnectionWindowSize = 2 * 1024 * 1024;
            kestrel.Limits.Http2.InitialStreamWindowSize = 1024 * 1024;
        });

        var app = builder.Build();
        app.MapSsePlugin();
        return app;
    }

    /// <summary>Checks every function declaration (throwing on any mistake) and logs the start-up banner.</summary>
    /// <param name="app">The built application.</param>
    public static void CheckAndAnnounce(WebApplication app)
    {
        var catalog = app.Services.GetRequiredService<FunctionCatalog>();
        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<SsePluginOptions>>().Value;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SsePlugin");
        if (!logger.IsEnabled(LogLevel.Information))
        {
            return;
        }

        logger.LogInformation(
            "SsePlugin {Version}: {Count} functions; Qlik calls them as follows ({Alias} is the analytic connection's name)",
            typeof(FunctionCatalog).Assembly.GetName().Version?.ToString(3),
            catalog.Functions.Count,
            options.Alias);
        foreach (var function in catalog.Functions)
        {
            logger.LogInformation(
                "  {Id,3} {FunctionType,-11} {Syntax} -> {ReturnType}",
                function.Id,
                function.FunctionType,
                $"{options.Alias}.{function.Signature}",
                function.ReturnType);
        }
    }
}
