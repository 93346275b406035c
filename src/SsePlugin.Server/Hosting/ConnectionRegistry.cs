using System.Net;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SsePlugin.Server.Catalog;
using SsePlugin.Server.Discovery;
using SsePlugin.Server.Scripting;

namespace SsePlugin.Server.Hosting;

/// <summary>
/// Every analytic connection the process serves: the main one and those of <see cref="SsePluginOptions.Connections"/>.
/// Built and checked once at start-up; a call finds its connection through the port it arrived on.
/// </summary>
public sealed class ConnectionRegistry
{
    /// <summary>The name of the connection configured at the top of the <c>SsePlugin</c> section.</summary>
    public const string MainName = "main";

    private ConnectionRegistry(IReadOnlyList<AnalyticConnection> all)
    {
        All = all;
        Main = all[0];
    }

    /// <summary>Gets every connection, the main one first.</summary>
    public IReadOnlyList<AnalyticConnection> All { get; }

    /// <summary>Gets whether some connection runs scripts in the engine of that name.</summary>
    /// <param name="engine">An engine's name.</param>
    internal bool AnyRuns(string engine) =>
        All.Any(connection => string.Equals(connection.EngineInUse, engine, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Gets the main connection; calls that arrive on a port not set up with
    /// <see cref="ListenOptionsExtensions.UseAnalyticConnection"/> go to it.
    /// </summary>
    public AnalyticConnection Main { get; }

    /// <summary>Builds every connection, or throws with every mistake found.</summary>
    /// <exception cref="SseConfigurationException">A function declaration or a connection setting is wrong.</exception>
    internal static ConnectionRegistry Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<SsePluginOptions>>().Value;
        var diagnostics = new List<SseDiagnostic>();
        var compiled = services.GetServices<IFunctionSource>()
            .SelectMany(source => source.GetFunctions(services, diagnostics))
            .ToList();
        var engines = services.GetServices<IScriptEngine>().ToDictionary(e => e.Name, StringComparer.OrdinalIgnoreCase);
        var functionsFiles = services.GetService<IFunctionsFileReader>();
        var connections = new List<AnalyticConnection>();
        var ports = new Dictionary<int, string>();
        foreach (var (name, connection) in options.AllConnections())
        {
            void Report(string problem, string fix) =>
                diagnostics.Add(new SseDiagnostic(
                    DiagnosticCodes.InvalidConnection, $"connection '{name}'", null, problem, fix));

            if (!ReferenceEquals(connection, options) && name.Equals(MainName, StringComparison.OrdinalIgnoreCase))
            {
                Report(
                    $"'{MainName}' is the name of the connection at the top of the SsePlugin section.",
                    "Give this connection another name.");
            }

            if (connection.Port is < 0 or > 65535)
            {
                Report($"Port {connection.Port} is not a TCP port.", "Use a port from 1 to 65535 (0: any free port).");
            }

            if (!IPAddress.TryParse(connection.Bind, out _))
            {
                Report(
                    $"Bind '{connection.Bind}' is not an IP address.",
                    "Use an address of this machine, such as 127.0.0.1 (this machine only), 0.0.0.0 (every interface) "
                    + "or ::1; not a host name.");
            }

            if (connection.Port != 0 && !ports.TryAdd(connection.Port, name))
            {
                Report(
                    $"Port {connection.Port} is also the port of connection '{ports[connection.Port]}'.",
                    "Give each analytic connection its own port.");
            }

            // A host without engines (a library-mode app with compiled functions only) serves no scripts; it refuses
            // only an engine named other than the default.
            var engine = engines.GetValueOrDefault(connection.ScriptEngine);
            if (engine is null && (engines.Count > 0 || !connection.ScriptEngine.Equals(
                SseConnectionOptions.DefaultScriptEngine, StringComparison.OrdinalIgnoreCase)))
            {
                Report(
                    $"The script engine '{connection.ScriptEngine}' does not exist.",
                    engines.Count == 0
                        ? "Register it with the SSE server: AddJavaScript(), AddR() or AddPython()."
                        : $"Set ScriptEngine to one of: {string.Join(", ", engines.Keys)}.");
                continue;
            }

            var functions = compiled;
            if (!string.IsNullOrWhiteSpace(connection.FunctionsFile))
            {
                if (engine is null || functionsFiles is null)
                {
                    Report(
                        "FunctionsFile is set, but no script engine runs its scripts here.",
                        "Register one with the SSE server: AddJavaScript(), AddR() or AddPython().");
                    continue;
                }

                var file = functionsFiles.Open(connection.FunctionsFile, engine.Name);
                functions = [.. compiled, .. file.GetFunctions(services, diagnostics)];
            }

            if (FunctionCatalog.Create(functions, diagnostics) is { } catalog)
            {
                connections.Add(new AnalyticConnection(name, connection, catalog, engine));
            }
        }

        // A clash among the compiled functions is found again on every connection; it is reported once.
        return diagnostics.Count == 0
            ? new ConnectionRegistry(connections)
            : throw new SseConfigurationException([.. diagnostics.Distinct()]);
    }

    /// <summary>Finds the connection a call arrived on.</summary>
    internal AnalyticConnection For(HttpContext context) =>
        All.Count > 1
        && context.Features.Get<IConnectionItemsFeature>()?.Items is { } items
        && items.TryGetValue(typeof(AnalyticConnection), out var connection)
            ? (AnalyticConnection)connection!
            : Main;
}
