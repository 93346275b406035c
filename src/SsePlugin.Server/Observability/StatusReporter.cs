using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Grpc.AspNetCore.HealthChecks;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using SsePlugin.Server.Hosting;
using SsePlugin.Server.Security;

namespace SsePlugin.Server.Observability;

/// <summary>
/// Answers the admin endpoint's health and status requests: <c>/healthz</c> (the process answers),
/// <c>/readyz</c> (the gRPC health service's state of the whole host, service <c>""</c>) and <c>/api/status</c>, the
/// JSON the status page polls.
/// </summary>
internal sealed class StatusReporter(
    ConnectionRegistry connections,
    CallObserver observer,
    HealthCheckService checks,
    IOptions<GrpcHealthChecksOptions> health,
    IOptions<SsePluginOptions> options,
    IServer server)
{
    private const int WarnDays = 30;

    // The checks run at most this often for the status page, which polls every second or two.
    private static readonly TimeSpan HealthReuse = TimeSpan.FromSeconds(5);

    private static readonly DateTimeOffset Started = Process.GetCurrentProcess().StartTime.ToUniversalTime();

    private readonly Dictionary<string, CertificateExpiry?> _expiries = connections.All.ToDictionary(
        connection => connection.Name, connection => Expiry(connection.Options.Certs));

    private (DateTimeOffset At, HealthReport Report)? _lastHealth;

    /// <summary><c>/healthz</c>: 200 while the process serves requests, draining or not.</summary>
    public static Task WriteLivenessAsync(HttpContext context) => context.Response.WriteAsync("alive\n");

    /// <summary><c>/readyz</c>: 200 <c>SERVING</c> or 503 <c>NOT_SERVING</c> with the failing checks, as the gRPC
    /// health service answers for the whole host.</summary>
    public async Task WriteReadinessAsync(HttpContext context)
    {
        var report = await checks.CheckHealthAsync(context.RequestAborted).ConfigureAwait(false);
        var failing = Failing(report, string.Empty);
        context.Response.StatusCode =
            failing.Count == 0 ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        await context.Response.WriteAsync(failing.Count == 0
            ? "SERVING\n"
            : $"NOT_SERVING\n{string.Join('\n', failing)}\n").ConfigureAwait(false);
    }

    /// <summary><c>/api/status</c>: the connections, their functions and health, the calls of the last 15 minutes
    /// and the last errors.</summary>
    public async Task WriteStatusAsync(HttpContext context)
    {
        var report = await HealthAsync(context.RequestAborted).ConfigureAwait(false);
        var now = observer.Time.GetUtcNow();
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
        var status = new StatusDocument(
            typeof(StatusReporter).Assembly.GetName().Version?.ToString(3) ?? "unknown",
            Environment.MachineName,
            Started,
            now,
            observer.InFlight,
            options.Value.MaxConcurrentCalls,
            observer.Enabled,
            [.. connections.All.Select((connection, i) => Describe(connection, i, addresses, report))],
            [.. observer.Histories.Select(history => history.Read(now.ToUnixTimeSeconds()))
                .Where(series => series.CallsPerSecond.Any(calls => calls > 0))
                .OrderBy(series => series.Connection).ThenBy(series => series.Function)],
            observer.Errors.Read());
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await JsonSerializer.SerializeAsync(
            context.Response.Body, status, StatusJson.Default.StatusDocument, context.RequestAborted)
            .ConfigureAwait(false);
    }

    private ConnectionStatus Describe(
        AnalyticConnection connection, int index, List<string> addresses, HealthReport report)
    {
        var settings = connection.Options;
        var port = settings.Port == 0 && index < addresses.Count ? new Uri(addresses[index]).Port : settings.Port;
        var failing = Failing(report, connection.Name);
        var host = IPAddress.TryParse(settings.Bind, out var bind) && (bind.Equals(IPAddress.Any)
            || bind.Equals(IPAddress.IPv6Any)) ? Environment.MachineName : settings.Bind;
        return new ConnectionStatus(
            connection.Name,
            settings.Alias,
            host,
            port,
            string.IsNullOrWhiteSpace(settings.Certs) ? "plaintext" : "mutual TLS",
            settings.Certs,
            _expiries[connection.Name],
            connection.AllowsScripts ? connection.ScriptEngine : null,
            failing.Count == 0 ? "SERVING" : "NOT_SERVING",
            failing,
            [.. connection.Catalog.Functions.Select(function => new FunctionStatus(
                function.Id,
                function.Name,
                function.FunctionType.ToString(),
                function.ReturnType.ToString(),
                $"{settings.Alias}.{function.Signature}"))]);
    }

    // The descriptions of the unhealthy checks that decide a service of the gRPC health service.
    private List<string> Failing(HealthReport report, string service)
    {
        var mapping = health.Value.Services.FirstOrDefault(mapped => mapped.Name == service);
        return [.. report.Entries
            .Where(entry => entry.Value.Status == HealthStatus.Unhealthy
                && (mapping?.HealthCheckPredicate?.Invoke(new HealthCheckMapContext(entry.Key, entry.Value.Tags))
                    ?? true))
            .Select(entry => $"{entry.Key}: {entry.Value.Description ?? entry.Value.Exception?.Message}")];
    }

    private async Task<HealthReport> HealthAsync(CancellationToken cancellationToken)
    {
        if (_lastHealth is { } last && observer.Time.GetUtcNow() - last.At < HealthReuse)
        {
            return last.Report;
        }

        var report = await checks.CheckHealthAsync(cancellationToken).ConfigureAwait(false);
        _lastHealth = (observer.Time.GetUtcNow(), report);
        return report;
    }

    private static CertificateExpiry? Expiry(string? certs)
    {
        if (string.IsNullOrWhiteSpace(certs))
        {
            return null;
        }

        var folder = CertificateFolder.Load(certs);
        var expires = new DateTimeOffset(folder.Certificate.NotAfter.ToUniversalTime());
        var root = new DateTimeOffset(folder.Root.NotAfter.ToUniversalTime());
        var first = expires < root ? expires : root;
        return new CertificateExpiry(expires, root, first - DateTimeOffset.UtcNow < TimeSpan.FromDays(WarnDays));
    }
}

/// <summary>The status page's data.</summary>
internal sealed record StatusDocument(
    string Version,
    string Machine,
    DateTimeOffset Started,
    DateTimeOffset Now,
    long InFlight,
    int MaxConcurrentCalls,
    bool MetricsEnabled,
    List<ConnectionStatus> Connections,
    List<FunctionSeries> Series,
    List<RecentError> Errors);

/// <summary>An analytic connection, with what to enter in QMC.</summary>
internal sealed record ConnectionStatus(
    string Name,
    string Alias,
    string Host,
    int Port,
    string Transport,
    string? Certs,
    CertificateExpiry? Certificate,
    string? ScriptEngine,
    string Health,
    List<string> Failing,
    List<FunctionStatus> Functions);

/// <summary>When a connection's certificates expire; a warning under 30 days.</summary>
internal sealed record CertificateExpiry(DateTimeOffset Server, DateTimeOffset Root, bool Warning);

/// <summary>A function, with the syntax Qlik calls it by.</summary>
internal sealed record FunctionStatus(int Id, string Name, string Type, string ReturnType, string Syntax);

/// <summary>Writes the status JSON without reflection.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(StatusDocument))]
internal sealed partial class StatusJson : JsonSerializerContext;
