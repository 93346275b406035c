using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Serilog;
using Serilog.Configuration;
using Serilog.Events;
using SsePlugin.Examples;
using SsePlugin.Host.Commands;
using SsePlugin.Host.Security;
using SsePlugin.Rserve;
using SsePlugin.Server.Catalog;
using SsePlugin.Server.Hosting;

namespace SsePlugin.Host;

/// <summary>Builds the console host: configuration, logging, Kestrel (HTTP/2, with mutual TLS when a certificate folder
/// is given) and the SSE server.</summary>
internal static class SsePluginHost
{
    /// <summary>The key, under <see cref="SsePluginOptions.Section"/>, of whether the examples are served.</summary>
    internal const string ExamplesSetting = nameof(HostSettings.Examples);

    private const string RequestLogCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    private const string BindFix = "Fix: correct or remove the setting; docs/configuration.md lists the settings of "
        + "each section, with a number where a number is expected and true or false for switches.";

    /// <summary>Gets the host's version, as the start-up banner shows it.</summary>
    public static string Version { get; } =
        typeof(FunctionCatalog).Assembly.GetName().Version?.ToString(3) ?? "unknown";

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
            .ReadFrom.CheckedConfiguration(builder.Configuration)
            .ReadFrom.Services(services)
            .Enrich.FromLogContext()
            // Program reports a failed start in one line; the generic host's own report repeats it with a stack trace.
            .Filter.ByExcluding(e => e.MessageTemplate.Text == "Hosting failed to start")
            .WriteTo.Console(
                outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}",
                standardErrorFromLevel: LogEventLevel.Error),
            preserveStaticLogger: true);

        builder.Services.AddOptions<ShutdownSettings>()
            .Bind(builder.Configuration)
            .Validate(
                shutdown => shutdown.ShutdownTimeoutSeconds >= 0,
                "shutdownTimeoutSeconds must be a whole number of seconds, 0 or more.")
            .ValidateOnStart();
        var sse = builder.Services.AddSsePlugin().AddJavaScript().AddR();

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

        // Loaded now, so a bad certificate folder stops the host before any port opens; it never falls back to
        // plaintext.
        var certificates = new Dictionary<string, CertificateFolder>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, connection) in settings.AllConnections())
        {
            if (!string.IsNullOrWhiteSpace(connection.Certs))
            {
                certificates[name] = CertificateFolder.Load(connection.Certs);
            }
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            foreach (var connection in kestrel.ApplicationServices.GetRequiredService<ConnectionRegistry>().All)
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

            // Qlik reads no "server" header; leaving it out tells a caller nothing of the software and saves encoding
            // it.
            kestrel.AddServerHeader = false;
        });

        var app = builder.Build();
        Validate(app.Services);
        app.MapSsePlugin();
        return app;
    }

    /// <summary>Runs the host until it is stopped; a start-up failure is logged in one line.</summary>
    /// <returns>The exit code: 0 after a stop; 2 for a setting, a declaration or a port the host cannot use; else 1.
    /// </returns>
    internal static async Task<int> RunAsync(HostArguments arguments)
    {
        // Errors go to standard error, so that a service manager or a script can tell them from the call log.
        Log.Logger = new LoggerConfiguration()
            .WriteTo.Console(standardErrorFromLevel: LogEventLevel.Error)
            .CreateBootstrapLogger();
        try
        {
            // Every declaration and connection is checked before a port opens; a mistake stops the host here.
            var app = Build(arguments);
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
            or OptionsValidationException or RserveException)
        {
            Log.Fatal("{Problems}", e.Message);
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
            problems.AddRange(Unusable(e).Failures);
            return new T();
        }
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
    private static OptionsValidationException Unusable(InvalidOperationException e)
    {
        var cause = e;
        while (cause.InnerException is InvalidOperationException inner)
        {
            cause = inner;
        }

        return new OptionsValidationException(
            SsePluginOptions.Section,
            typeof(HostSettings),
            [$"A setting cannot be used: {cause.Message.TrimEnd('.')}. {BindFix}"]);
    }

    // Serilog names the setting it cannot use; the administrator needs no stack trace.
    private static LoggerConfiguration CheckedConfiguration(
        this LoggerSettingsConfiguration settings, IConfiguration configuration)
    {
        try
        {
            return settings.Configuration(configuration);
        }
        catch (InvalidOperationException e)
        {
            throw new OptionsValidationException(
                "Serilog", typeof(LoggerConfiguration), [$"The Serilog settings are wrong: {e.Message}"]);
        }
    }

    private static bool HasOwnFunctions(SsePluginOptions options) =>
        !string.IsNullOrWhiteSpace(options.FunctionsFolder)
        || options.AllConnections().Any(c => !string.IsNullOrWhiteSpace(c.Value.FunctionsFile));
}
