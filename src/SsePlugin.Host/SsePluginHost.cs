using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Options;
using Serilog;
using Serilog.Configuration;
using Serilog.Events;
using Serilog.Settings.Configuration;
using SsePlugin.Examples;
using SsePlugin.Host.Commands;
using SsePlugin.JavaScript;
using SsePlugin.Python;
using SsePlugin.R;
using SsePlugin.Rserve;
using SsePlugin.Server.Catalog;
using OpenTelemetry.Metrics;
using SsePlugin.Server.Hosting;
using SsePlugin.Server.Security;

namespace SsePlugin.Host;

/// <summary>Builds the console host: configuration, logging, Kestrel (HTTP/2, with mutual TLS when a certificate folder
/// is given) and the SSE server.</summary>
internal static partial class SsePluginHost
{
    /// <summary>The key, under <see cref="SsePluginOptions.Section"/>, of whether the examples are served.</summary>
    internal const string ExamplesSetting = nameof(HostSettings.Examples);

    private const string RequestLogCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    private const string HealthCheckLogCategory = "Microsoft.Extensions.Diagnostics.HealthChecks";

    private const string UnknownFix = "Fix: correct or remove it; docs/configuration.md lists the settings of each "
        + "section.";

    private const string BindFix = "Fix: correct or remove the setting; docs/configuration.md lists the settings of "
        + "each section, with a number where a number is expected and true or false for switches.";

    /// <summary>Gets the host's version, as the start-up banner and <c>--version</c> show it: the version it was built
    /// with (<c>1.2.3</c>, or <c>1.2.4-dev.7</c> from build/publish.sh), without the commit's hash.</summary>
    public static string Version { get; } = typeof(SsePluginHost).Assembly
        .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown";

    /// <summary>Builds the host from command-line arguments, <c>appsettings.json</c> and environment variables.
    /// </summary>
    /// <param name="args">The command line: <c>--port</c>, <c>--bind</c>, <c>--functions-folder</c> and any
    /// <c>--Section:Key value</c>.</param>
    /// <param name="configure">Adds to the SSE server, e.g. more function classes.</param>
    /// <returns>The built application, not yet listening.</returns>
    /// <exception cref="SsePlugin.Server.Catalog.SseConfigurationException">A function declaration or connection
    /// setting is wrong; lists every mistake.</exception>
    /// <exception cref="OptionsValidationException">The command line or a setting is wrong; names the mistake.
    /// </exception>
    public static WebApplication Build(string[] args, Action<ISsePluginBuilder>? configure = null) =>
        Build(new HostCommandLine().Parse(args), configure);

    /// <summary>Builds the host from its command line's arguments, <c>appsettings.json</c> and environment variables.
    /// </summary>
    internal static WebApplication Build(HostArguments arguments, Action<ISsePluginBuilder>? configure = null)
    {
        // The slim builder leaves out what a gRPC host has no use for (IIS, HTTP/3, HTTPS endpoints from the Kestrel
        // section, the Debug and EventSource log providers), which spares about 3 MB at start.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [.. arguments.Settings],
            EnvironmentName = arguments.Switches.GetValueOrDefault(HostDefaults.EnvironmentKey),
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddInMemoryCollection(arguments.Switches);
        // Bound once, whole, by a binder that refuses unknown keys and names a value it cannot convert; what the binder
        // cannot see is reported with its mistake.
        var unusable = UnusableSettings.Describe(builder.Configuration).ToList();
        var settings = Bind<HostSettings>(builder.Configuration.GetSection(SsePluginOptions.Section), unusable);
        if (unusable.Count > 0)
        {
            throw new OptionsValidationException(
                SsePluginOptions.Section, typeof(HostSettings), [string.Join(" ", unusable)]);
        }

        // Each host logs through a logger of its own (not the static Log.Logger), so that hosts sharing a process, as
        // in the tests, never write to each other's sinks; start-up failures still go to Program's bootstrap logger.
        // ASP.NET Core gives every request a tracing activity and a logging scope whenever its hosting category may log
        // at all, which cost a one-row call about 3% of its CPU; the call line says what they would. The category is
        // off unless configured (Serilog:MinimumLevel:Override); a tracing listener, if one is added, still gets its
        // activities.
        builder.Services.AddSerilog((services, logger) => logger
            .MinimumLevel.Override(RequestLogCategory, LevelAlias.Off)
            // A failing health check would log an error at every probe (a load balancer probes every few seconds, a
            // draining host fails on purpose); the health service and the doctor report it, the drain its own lines.
            .MinimumLevel.Override(HealthCheckLogCategory, LevelAlias.Off)
            .ReadFrom.CheckedConfiguration(builder.Configuration)
            .ReadFrom.Services(services)
            .Enrich.FromLogContext()
            // Program reports a failed start in one line; the generic host's own report repeats it with a stack trace.
            .Filter.ByExcluding(e => e.MessageTemplate.Text == "Hosting failed to start")
            .WriteTo.Console(
                outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}",
                standardErrorFromLevel: LogEventLevel.Error),
            preserveStaticLogger: true);

        AddServiceLifetimes(builder.Services);
        builder.Services.AddOptions<ShutdownSettings>()
            .Bind(builder.Configuration)
            .Validate(
                shutdown => shutdown.ShutdownTimeoutSeconds >= 0,
                "shutdownTimeoutSeconds must be a whole number of seconds, 0 or more.")
            .ValidateOnStart();
        var sse = builder.Services.AddSsePlugin().AddJavaScript().AddR().AddPython();
        if (settings.Metrics is { Enabled: true, OtlpEndpoint: { } otlp })
        {
            builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddOtlpExporter(o => o.Endpoint = otlp));
        }

        // The examples are the embedded default: served until the administrator configures functions of their own.
        if (settings.Examples ?? !HasOwnFunctions(settings))
        {
            sse.AddFunctionsFrom(typeof(HelloWorldFunctions).Assembly);
        }

        if (!string.IsNullOrWhiteSpace(settings.FunctionsFolder))
        {
            sse.AddFunctionsFromFolder(settings.FunctionsFolder);
        }

        configure?.Invoke(sse);

        var app = builder.Build();
        // Kestrel's set-up builds and checks the connections, their functions and their certificate folders: done
        // now, so that a mistake stops the host before any port opens.
        _ = app.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value;
        Validate(app.Services);
        app.MapSsePlugin();
        return app;
    }

    /// <summary>Runs the host until it is stopped; a start-up failure is logged in one line.</summary>
    /// <returns>The exit code: 0 after a stop; 2 for a setting, a declaration or a port the host cannot use; else 1.
    /// </returns>
    internal static async Task<int> RunAsync(HostArguments arguments)
    {
        // Errors go to standard error, so that a service manager or a script can tell them from the call log, and a
        // Windows service's to the event log too.
        var bootstrap = new LoggerConfiguration().WriteTo.Console(standardErrorFromLevel: LogEventLevel.Error);
        if (ServiceEventLog.IsWindowsService)
        {
            bootstrap.WriteTo.Sink(new ServiceEventLog(), LogEventLevel.Fatal);
        }

        Log.Logger = bootstrap.CreateBootstrapLogger();
        IReadOnlyList<string> endPoints = ["its ports"];
        string? adminEndPoint = null;
        try
        {
            // Every declaration and connection is checked before a port opens; a mistake stops the host here.
            var app = Build(arguments);
            endPoints = EndPoints(app);
            // Kestrel names the address it could not listen on: the admin endpoint's gets its own fix.
            var admin = app.Services.GetRequiredService<IOptions<SsePluginOptions>>().Value.Admin;
            adminEndPoint = admin.Enabled ? new IPEndPoint(IPAddress.Parse(admin.Bind), admin.Port).ToString() : null;
            Announce(app);
            await app.RunAsync().ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        catch (InvalidDataException e)
            when (e.InnerException is FormatException { InnerException: JsonException cause })
        {
            // A configuration file that is not valid JSON; the reader's message gives the line (counted from 0).
            Log.Fatal("{Problem} {Cause}", e.Message, cause.Message);
            return ExitCodes.Usage;
        }
        catch (Exception e) when (e is SseConfigurationException or CertificateFolderException
            or OptionsValidationException or RserveException or PythonWorkerException)
        {
            Log.Fatal("{Problems}", e.Message);
            return ExitCodes.Usage;
        }
        catch (IOException e) when (e.InnerException is AddressInUseException
            && adminEndPoint is not null && e.Message.Contains(adminEndPoint, StringComparison.Ordinal))
        {
            Log.Fatal(
                "{Problem} Another program, perhaps another SsePlugin, listens on the admin endpoint's port: stop it, "
                    + "give this host another one (--admin-port, 0 for any free port), or turn the endpoint off "
                    + "(SsePlugin:Admin:Enabled false).",
                e.Message);
            return ExitCodes.Usage;
        }
        catch (IOException e) when (e.InnerException is AddressInUseException)
        {
            Log.Fatal(
                "{Problem} Another program, perhaps another SsePlugin, listens there: stop it, or give this host "
                    + "another port (--port).",
                e.Message);
            return ExitCodes.Usage;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
        {
            Log.Fatal(
                "The host cannot listen there: {Problem}. Fix: bind to an address of this machine (--bind), "
                    + "e.g. 127.0.0.1, or 0.0.0.0 for all.",
                e.Message);
            return ExitCodes.Usage;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AccessDenied)
        {
            Log.Fatal(
                "The host may not listen on {EndPoints}: permission denied. Fix: give it a port from 1024 up (--port); "
                    + "on Linux only a privileged account may listen below 1024 (under systemd, "
                    + "AmbientCapabilities=CAP_NET_BIND_SERVICE grants it); on Windows the port may be reserved "
                    + "(netsh interface ipv4 show excludedportrange protocol=tcp).",
                string.Join(", ", endPoints));
            return ExitCodes.Usage;
        }
        catch (UnauthorizedAccessException e)
        {
            var path = DeniedPath().Match(e.Message) is { Success: true } denied ? denied.Groups[1].Value : e.Message;
            Log.Fatal(
                "The host cannot read {Path}: permission denied. Fix: give the account the host runs as ({Account}) "
                    + "read access to it (chmod or chown on Linux, the file's Security tab on Windows).",
                path,
                Environment.UserName);
            return ExitCodes.Usage;
        }
        catch (Exception e) when (e is not HostAbortedException)
        {
            Log.Fatal(e, "The host could not run: {Message}", e.Message);
            return ExitCodes.Problem;
        }
        finally
        {
            await Log.CloseAndFlushAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Logs the start-up banner once the host listens: every connection, its port, and the call syntax of
    /// its functions.</summary>
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
        var connections = app.Services.GetRequiredService<ConnectionRegistry>().All;
        var addresses = app.Urls.ToList();
        logger.LogInformation("SsePlugin {Version}", Version);
        if (app.Services.GetRequiredService<IOptions<SsePluginOptions>>().Value.Admin.Enabled)
        {
            // Kestrel lists the admin endpoint last (KestrelSetup); 0.0.0.0 is reached on this machine as 127.0.0.1.
            var admin = new UriBuilder(addresses[^1]);
            admin.Host = admin.Host is "0.0.0.0" or "[::]" ? "127.0.0.1" : admin.Host;
            logger.LogInformation("Status page on {Url} (metrics on {Url}metrics)", admin.Uri, admin.Uri);
        }

        var drain = app.Services.GetRequiredService<IOptions<SsePluginOptions>>().Value.DrainDelaySeconds;
        var shutdown = app.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout;
        logger.LogInformation(
            "When told to stop (Ctrl+C, SIGTERM, a service stop): health NOT_SERVING at once, new calls taken for "
                + "{DrainDelaySeconds} s more (SsePlugin:DrainDelaySeconds), then running calls get up to "
                + "{ShutdownTimeoutSeconds} s (shutdownTimeoutSeconds)",
            drain,
            (shutdown - TimeSpan.FromSeconds(drain)).TotalSeconds);
        for (var i = 0; i < connections.Count; i++)
        {
            var connection = connections[i];
            var options = connection.Options;
            var port = options.Port == 0 ? new Uri(addresses[i]).Port : options.Port;
            logger.LogInformation(
                "Connection {Name} on {EndPoint} ({Transport}): scripts {Scripts}, {Count} functions; "
                    + "Qlik calls them as follows ({Alias} is the analytic connection's name in QMC)",
                connection.Name,
                new IPEndPoint(IPAddress.Parse(options.Bind), port).ToString(),
                string.IsNullOrWhiteSpace(options.Certs) ? "plaintext" : "mutual TLS",
                connection.AllowsScripts ? $"in {connection.ScriptEngine}" : "off",
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

    // Run by systemd (Type=notify) or as a Windows service, the host tells the service manager when it is ready (every
    // port listens) and when it stops; in a console neither applies and Ctrl+C stops it. .NET recognises systemd by
    // the host's parent process, which a unit with ProtectProc=invisible hides: NOTIFY_SOCKET, which systemd sets for
    // Type=notify, is taken as the sign too, as newer .NET versions do.
    private static void AddServiceLifetimes(IServiceCollection services)
    {
        services.AddWindowsService();
        services.AddSystemd();
        if (!SystemdHelpers.IsSystemdService()
            && !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NOTIFY_SOCKET")))
        {
            services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
            services.AddSingleton<IHostLifetime, SystemdLifetime>();
        }
    }

    // Binds a section whole, refusing keys that name no setting; a mistake is added to the problems.
    private static T Bind<T>(IConfigurationSection section, List<string> problems)
        where T : new()
    {
        try
        {
            return section.Get<T>(binder => binder.ErrorOnUnknownConfiguration = true) ?? new T();
        }
        catch (InvalidOperationException e)
        {
            problems.Add(UnknownSettings(e, section) ?? Unusable(e).Failures.Single());
            return new T();
        }
    }

    // The binder names the keys it does not know and the type of the part of the section they are in; the
    // administrator needs their paths (SsePlugin:Connections:R:Prt), which the parts of that type tell. Null when the
    // binder's message is of another kind.
    private static string? UnknownSettings(InvalidOperationException e, IConfigurationSection section)
    {
        if (UnknownKeys().Match(Innermost(e).Message) is not { Success: true } unknown)
        {
            return null;
        }

        IEnumerable<IConfigurationSection> parts = unknown.Groups["type"].Value switch
        {
            var type when type == typeof(JavaScriptOptions).FullName =>
                [section.GetSection(nameof(HostSettings.JavaScript))],
            var type when type == typeof(ROptions).FullName => [section.GetSection(nameof(HostSettings.Rserve))],
            var type when type == typeof(PythonOptions).FullName => [section.GetSection(nameof(HostSettings.Python))],
            var type when type == typeof(SseConnectionOptions).FullName =>
                section.GetSection(nameof(SsePluginOptions.Connections)).GetChildren(),
            _ => [section],
        };
        var keys = unknown.Groups["key"].Captures.Select(key => key.Value).ToList();
        var paths = parts
            .SelectMany(part => keys.Where(key => part.GetSection(key).Exists()).Select(key => $"{part.Path}:{key}"))
            .ToList();
        var verb = paths.Count == 1 ? "is not a setting" : "are not settings";
        return paths.Count == 0 ? null : $"{string.Join(", ", paths)} {verb}. {UnknownFix}";
    }

    // The settings Kestrel's set-up reads were bound and checked by Build (a mistake stops it there, one options type
    // at a time); every other setting with ValidateOnStart is checked now, before the server is mapped and any port
    // opens. The options framework reports mistakes in several options types as an AggregateException.
    private static void Validate(IServiceProvider services)
    {
        try
        {
            services.GetRequiredService<IStartupValidator>().Validate();
        }
        catch (AggregateException e)
        {
            throw new OptionsValidationException(
                SsePluginOptions.Section,
                typeof(HostSettings),
                e.InnerExceptions.OfType<OptionsValidationException>().SelectMany(problem => problem.Failures));
        }
        catch (InvalidOperationException e)
        {
            throw Unusable(e);
        }
    }

    // The binder names a value it cannot convert with its setting, or the keys it does not know with the type they
    // were bound to; its innermost exception says which (a connection's is wrapped in a general one). The
    // administrator needs that line, not a stack trace.
    private static OptionsValidationException Unusable(InvalidOperationException e) => new(
        SsePluginOptions.Section,
        typeof(HostSettings),
        [$"A setting cannot be used: {Innermost(e).Message.TrimEnd('.')}. {BindFix}"]);

    // The binder's own exception, inside the general ones it wraps a connection's in.
    private static InvalidOperationException Innermost(InvalidOperationException e) =>
        e.InnerException is InvalidOperationException inner ? Innermost(inner) : e;

    // Serilog names the setting it cannot use; the administrator needs no stack trace. The sinks the host carries
    // (Console, File) are named, not searched for: the single-file download has no assemblies on disk to search.
    private static LoggerConfiguration CheckedConfiguration(
        this LoggerSettingsConfiguration settings, IConfiguration configuration)
    {
        try
        {
            var sinks = new ConfigurationReaderOptions(
                typeof(ConsoleLoggerConfigurationExtensions).Assembly,
                typeof(FileLoggerConfigurationExtensions).Assembly);
            return settings.Configuration(configuration, sinks);
        }
        catch (InvalidOperationException e)
        {
            throw new OptionsValidationException(
                "Serilog", typeof(LoggerConfiguration), [$"The Serilog settings are wrong: {e.Message}"]);
        }
    }

    // Where each analytic connection listens, as configured.
    private static List<string> EndPoints(WebApplication app) =>
        [.. app.Services.GetRequiredService<ConnectionRegistry>().All
            .Select(c => new IPEndPoint(IPAddress.Parse(c.Options.Bind), c.Options.Port).ToString())];

    [GeneratedRegex("Access to the path '(.+)' is denied")]
    private static partial Regex DeniedPath();

    [GeneratedRegex(@"not found on the instance of (?<type>[\w.]+): (?:'(?<key>[^']*)'(?:, )?)+")]
    private static partial Regex UnknownKeys();

    private static bool HasOwnFunctions(SsePluginOptions options) =>
        !string.IsNullOrWhiteSpace(options.FunctionsFolder)
        || options.AllConnections().Any(c => !string.IsNullOrWhiteSpace(c.Value.FunctionsFile));
}
