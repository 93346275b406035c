using System.Globalization;
using System.Net;
using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Serilog;
using Serilog.Events;
using SsePlugin.Examples;
using SsePlugin.Host.Security;
using SsePlugin.Server;
using SsePlugin.Server.Connections;

namespace SsePlugin.Host;

/// <summary>Builds the console host: configuration, logging, Kestrel (HTTP/2, with mutual TLS when a certificate folder is given) and the SSE server.</summary>
public static class SsePluginHost
{
    private const string RequestLogCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    private static readonly Dictionary<string, string> Switches = new()
    {
        ["--port"] = "SsePlugin:Port",
        ["--bind"] = "SsePlugin:Bind",
        ["--functions-folder"] = "SsePlugin:FunctionsFolder",
        ["--functions"] = "SsePlugin:FunctionsFile",
        ["--allow-script"] = "SsePlugin:AllowScript",
        ["--script-engine"] = "SsePlugin:ScriptEngine",
        ["--examples"] = "SsePlugin:Examples",
        ["--rserve"] = "SsePlugin:Rserve:Address",
        ["--start-rserve"] = "SsePlugin:Rserve:Start",
        ["--certs"] = "SsePlugin:Certs",
    };

    /// <summary>What <c>--help</c> prints.</summary>
    public const string Usage = """
        Usage: SsePlugin.Host [--port N] [--bind ADDRESS] [--certs DIR] [--functions-folder DIR] [--functions FILE]
                              [--allow-script true|false] [--script-engine javascript|r] [--examples true|false]
                              [--rserve HOST:PORT] [--start-rserve] [--shutdownTimeoutSeconds N] [--Section:Key value]...
               SsePlugin.Host certs generate --out DIR ...   certificates for mutual TLS (certs --help)
               SsePlugin.Host doctor --host NAME ...         checks a connection as Qlik makes it (doctor --help)
               SsePlugin.Host --version

        Runs the plugin: Qlik calls it as an analytic connection (default 127.0.0.1:50051, plaintext unless --certs).
        Every setting can also come from appsettings.json next to the executable or from the environment
        (SsePlugin__Port=50052); the README's configuration table lists them all.
        """;

    /// <summary>Gets the host's version, as the start-up banner shows it.</summary>
    public static string Version { get; } = typeof(FunctionCatalog).Assembly.GetName().Version?.ToString(3) ?? "unknown";

    /// <summary>Builds the host from command-line arguments, <c>appsettings.json</c> and environment variables.</summary>
    /// <param name="args">The command line: <c>--port</c>, <c>--bind</c>, <c>--functions-folder</c> and any <c>--Section:Key value</c>.</param>
    /// <param name="configureServices">Adds services, e.g. more function classes.</param>
    /// <returns>The built application, not yet listening.</returns>
    /// <exception cref="SsePlugin.Server.Discovery.SseConfigurationException">A function declaration or connection setting is wrong; lists every mistake.</exception>
    public static WebApplication Build(string[] args, Action<IServiceCollection>? configureServices = null)
    {
        args = WithFlagValues(args);
        // The slim builder leaves out what a gRPC host has no use for (IIS, HTTP/3, HTTPS endpoints from the Kestrel
        // section, the Debug and EventSource log providers), which spares about 3 MB at start.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddCommandLine(args, Switches);
        var unusable = UnusableSettings.Describe(
            args,
            new ConfigurationBuilder().AddCommandLine(args, Switches).Build(), Switches.Keys, builder.Configuration).ToList();
        if (unusable.Count > 0)
        {
            throw new OptionsValidationException(SsePluginOptions.Section, typeof(SsePluginOptions), [string.Join(" ", unusable)]);
        }

        // Each host logs through a logger of its own (not the static Log.Logger), so that hosts sharing a process, as
        // in the tests, never write to each other's sinks; start-up failures still go to Program's bootstrap logger.
        // ASP.NET Core gives every request a tracing activity and a logging scope whenever its hosting category may log
        // at all, which cost a one-row call about 3% of its CPU; the call line says what they would. The category is
        // off unless configured (Serilog:MinimumLevel:Override); a tracing listener, if one is added, still gets its activities.
        builder.Services.AddSerilog((services, logger) => logger
            .MinimumLevel.Override(RequestLogCategory, LevelAlias.Off)
            .ReadFrom.Configuration(builder.Configuration)
            .ReadFrom.Services(services)
            .Enrich.FromLogContext()
            // Program reports a failed start in one line; the generic host's own report repeats it with a stack trace.
            .Filter.ByExcluding(e => e.MessageTemplate.Text == "Hosting failed to start")
            .WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}", standardErrorFromLevel: LogEventLevel.Error), preserveStaticLogger: true);

        // The generic host ignores a value it cannot read, and would wait its default 30 s.
        if (builder.Configuration["shutdownTimeoutSeconds"] is { } shutdownTimeout
            && !(int.TryParse(shutdownTimeout, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0))
        {
            throw new OptionsValidationException(
                "shutdownTimeoutSeconds", typeof(HostOptions), [$"shutdownTimeoutSeconds is '{shutdownTimeout}'; write a whole number of seconds, 0 or more."]);
        }

        var section = builder.Configuration.GetSection(SsePluginOptions.Section);
        var options = section.Get<SsePluginOptions>() ?? new SsePluginOptions();
        foreach (var connection in section.GetSection(nameof(SsePluginOptions.Connections)).GetChildren())
        {
            // The binder leaves out a connection it cannot read; binding it alone throws its error, naming the setting.
            if (!options.Connections.ContainsKey(connection.Key))
            {
                connection.Get<SseConnectionOptions>();
            }
        }

        builder.Services.Configure<SsePluginOptions>(section);
        builder.Services.AddSsePlugin();

        // The examples are the embedded default: served until the administrator configures functions of their own.
        if (builder.Configuration.GetValue($"{SsePluginOptions.Section}:Examples", !HasOwnFunctions(options)))
        {
            builder.Services.AddSseFunctionsFrom(typeof(HelloWorldFunctions).Assembly);
        }

        if (!string.IsNullOrWhiteSpace(options.FunctionsFolder))
        {
            builder.Services.AddSseFunctionsFromFolder(options.FunctionsFolder);
        }

        configureServices?.Invoke(builder.Services);

        // Loaded now, so a bad certificate folder stops the host before any port opens; it never falls back to plaintext.
        var certificates = new Dictionary<string, CertificateFolder>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, connection) in options.AllConnections())
        {
            if (!string.IsNullOrWhiteSpace(connection.Certs))
            {
                certificates[name] = CertificateFolder.Load(connection.Certs);
            }
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            foreach (var connection in kestrel.ApplicationServices.GetRequiredService<AnalyticConnections>().All)
            {
                kestrel.Listen(IPAddress.Parse(connection.Options.Bind), connection.Options.Port, listen =>
                {
                    listen.Protocols = HttpProtocols.Http2;
                    certificates.GetValueOrDefault(connection.Name)?.UseFor(listen);
                    listen.UseAnalyticConnection(connection);
                });
            }

            // Flow-control windows a little above Kestrel's defaults keep Qlik's bundles streaming without waiting
            // for window updates, while bounding what a fast sender can make the host buffer.
            kestrel.Limits.Http2.InitialConnectionWindowSize = 2 * 1024 * 1024;
            kestrel.Limits.Http2.InitialStreamWindowSize = 1024 * 1024;

            // Qlik sends a script in a header (qlik-scriptrequestheader-bin, base64): 256 KB of headers take a script
            // of about 190 KB. Headers up to twice that fail their own call with status 431 (the one header field may
            // be that long); longer ones end the connection, Kestrel's guard against header floods.
            kestrel.Limits.MaxRequestHeadersTotalSize = 256 * 1024;
            kestrel.Limits.Http2.MaxRequestHeaderFieldSize = 2 * kestrel.Limits.MaxRequestHeadersTotalSize;

            // Qlik reads no "server" header; leaving it out tells a caller nothing of the software and saves encoding it.
            kestrel.AddServerHeader = false;
        });

        var app = builder.Build();
        app.MapSsePlugin();
        return app;
    }

    /// <summary>Logs the start-up banner once the host listens: every connection, its port, and the call syntax of its functions.</summary>
    /// <param name="app">The built application.</param>
    public static void Announce(WebApplication app) => app.Lifetime.ApplicationStarted.Register(() =>
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SsePlugin");
        if (!logger.IsEnabled(LogLevel.Information))
        {
            return;
        }

        // For port 0 the banner gives the port the system chose: Kestrel lists the addresses it listens on in the
        // order they were set up, one per connection.
        var connections = app.Services.GetRequiredService<AnalyticConnections>().All;
        var addresses = app.Urls.ToList();
        logger.LogInformation("SsePlugin {Version}", Version);
        for (var i = 0; i < connections.Count; i++)
        {
            var connection = connections[i];
            var options = connection.Options;
            logger.LogInformation(
                "Connection {Name} on {EndPoint} ({Transport}): scripts {Scripts}, {Count} functions; Qlik calls them as follows ({Alias} is the analytic connection's name in QMC)",
                connection.Name,
                new IPEndPoint(IPAddress.Parse(options.Bind), options.Port == 0 ? new Uri(addresses[i]).Port : options.Port).ToString(),
                string.IsNullOrWhiteSpace(options.Certs) ? "plaintext" : "mutual TLS",
                options.AllowScript ? $"in {connection.ScriptEngine}" : "off",
                connection.Catalog.Functions.Count,
                options.Alias);
            foreach (var function in connection.Catalog.Functions)
            {
                logger.LogInformation(
                    "  {Id,3} {FunctionType,-11} {Syntax} -> {ReturnType}",
                    function.Id,
                    function.FunctionType,
                    $"{options.Alias}.{function.Signature}",
                    function.ReturnType);
            }
        }
    });

    // A switch that turns something on may stand alone: `--start-rserve` means `--start-rserve true`.
    private static string[] WithFlagValues(string[] args)
    {
        var result = new List<string>(args.Length + 1);
        for (var i = 0; i < args.Length; i++)
        {
            result.Add(args[i]);
            if (args[i].Equals("--start-rserve", StringComparison.OrdinalIgnoreCase) && (i + 1 == args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal)))
            {
                result.Add("true");
            }
        }

        return [.. result];
    }

    private static bool HasOwnFunctions(SsePluginOptions options) =>
        !string.IsNullOrWhiteSpace(options.FunctionsFolder)
        || options.AllConnections().Any(c => !string.IsNullOrWhiteSpace(c.Value.FunctionsFile));
}
