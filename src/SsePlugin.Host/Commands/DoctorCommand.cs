using System.CommandLine;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Qlik.Sse;
using SsePlugin.Health.V1;
using SsePlugin.Server.Security;

using CheckedStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;
using ListClient = SsePlugin.Health.V1.Health.HealthClient;
using ListedStatus = SsePlugin.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace SsePlugin.Host.Commands;

/// <summary>
/// <c>doctor</c>: connects to SsePlugin as the Qlik engine does (same address, same certificate files, plaintext or
/// mutual TLS), calls <c>GetCapabilities</c>, and prints what is wrong, or the functions and what to enter in Qlik.
/// </summary>
internal static class DoctorCommand
{
    private const string Description = """
        Connects to SsePlugin exactly as the Qlik engine does, calls GetCapabilities, and prints what is wrong, or the
        line for settings.ini and the fields of the QMC's analytic connection. Run it where the Qlik engine runs.
        Exit code 0: Qlik can connect; 1: a problem was found; 2: wrong arguments.
        """;

    // The health service of a plugin that is stopping (SsePlugin's drain check).
    private const string Draining = "draining";

    private const string ErrorCode14 = "Qlik shows this as \"error code 14\" (UNAVAILABLE).";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static readonly string QlikFiles = string.Join(", ", CertificateSide.Qlik.Files);

    // The client connection preface of HTTP/2 and an empty SETTINGS frame: a plaintext HTTP/2 server answers with
    // SETTINGS.
    private static readonly byte[] Http2Preface = [.. "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8, 0, 0, 0, 4, 0, 0, 0, 0, 0];

    private enum Transport
    {
        Unknown,
        Plaintext,
        Tls,
    }

    /// <summary>Creates the <c>doctor</c> command.</summary>
    public static Command Create()
    {
        var host = HostCommandLine.TextOption(
            "--host", "HOST", "the host name or address Qlik uses to reach the plugin");
        host.Required = true;
        var port = HostCommandLine.NumberOption("--port", "PORT", "the plugin's port", 50051, 1, 65535);
        var certs = HostCommandLine.TextOption(
            "--certs",
            "DIR",
            "Qlik's certificate folder (root_cert.pem, sse_client_cert.pem, sse_client_key.pem); "
                + "leave it out when the plugin runs without certificates");
        var alias = HostCommandLine.TextOption(
            "--alias", "NAME", "the analytic connection's name, which app authors write before the function names");
        alias.DefaultValueFactory = _ => "SSE";
        var doctor = new Command("doctor", Description) { host, port, certs, alias };
        doctor.SetAction((parsed, cancellationToken) =>
        {
            var target = new Target(
                parsed.GetRequiredValue(host),
                parsed.GetValue(port),
                parsed.GetValue(certs),
                parsed.GetRequiredValue(alias));
            return RunAsync(target, parsed.InvocationConfiguration.Output, cancellationToken);
        });
        return doctor;
    }

    private static async Task<int> RunAsync(Target target, TextWriter output, CancellationToken cancellationToken)
    {
        var report = new Report(output);
        await DiagnoseAsync(target, report, cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync(report.Problems == 0 ? "No problem found." : $"{report.Problems} problem(s) found.")
            .ConfigureAwait(false);
        return report.Problems == 0 ? ExitCodes.Ok : ExitCodes.Problem;
    }

    private static async Task DiagnoseAsync(Target target, Report report, CancellationToken cancellationToken)
    {
        report.Line($"Connecting to {target.Endpoint} as the Qlik engine does, "
            + (target.Certs is null
                ? "in plaintext (no certificate folder)."
                : $"with mutual TLS and the certificates in {Path.GetFullPath(target.Certs)}."));
        var folder = target.Certs is null ? null : LoadFolder(target.Certs, report);
        if (report.Problems > 0 || !await IsReachableAsync(target, report, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var transport = await ProbeAsync(target, cancellationToken).ConfigureAwait(false);
        if (!CheckTransport(target, folder, transport.Kind, report))
        {
            return;
        }

        if (folder is not null && !CheckServerCertificate(target, folder, transport.Certificate!, report))
        {
            return;
        }

        using var channel = OpenChannel(target, folder);
        var capabilities = await GetCapabilitiesAsync(channel, folder, report, cancellationToken).ConfigureAwait(false);
        if (capabilities is not null)
        {
            await CheckHealthAsync(channel, report, cancellationToken).ConfigureAwait(false);
            PrintConnection(target, folder, capabilities, report);
        }
    }

    private static CertificateFolder? LoadFolder(string directory, Report report)
    {
        try
        {
            var folder = CertificateFolder.Load(directory, CertificateSide.Qlik);
            report.Ok($"{QlikFiles} are in place: the client certificate {folder.Certificate.Subject} "
                + $"is issued by the root and valid until {folder.Certificate.NotAfter:yyyy-MM-dd}.");
            return folder;
        }
        catch (CertificateFolderException e)
        {
            foreach (var problem in e.Problems)
            {
                report.Problem($"{e.Directory}: {problem}");
            }

            report.Line($"Qlik reads exactly {QlikFiles} from its certificate folder.");
            return null;
        }
    }

    private static async Task<bool> IsReachableAsync(Target target, Report report, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        using var client = new TcpClient();
        var problem = string.Empty;
        try
        {
            await client.ConnectAsync(target.Host, target.Port, timeout.Token).ConfigureAwait(false);
            report.Ok($"{target.Endpoint} accepts connections.");
            return true;
        }
        catch (SocketException e)
            when (e.SocketErrorCode is SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData)
        {
            problem = $"The host name {target.Host} cannot be resolved ({e.Message}). "
                + "Fix: use a name this machine resolves, or the plugin's IP address.";
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            problem = $"{target.Endpoint} is not reachable: nothing listens there (connection refused). {ErrorCode14} "
                + "Fix: start SsePlugin with this port; "
                + "it listens on 127.0.0.1 only unless started with --bind 0.0.0.0.";
        }
        catch (SocketException e)
        {
            problem = $"{target.Endpoint} is not reachable: {e.Message}. {ErrorCode14} "
                + "Fix: check the host, the port and the firewalls in between.";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            problem = $"{target.Endpoint} is not reachable: no answer in {Timeout.TotalSeconds:0} s. {ErrorCode14} "
                + "Fix: a firewall may drop the connection; open the port between Qlik and the plugin.";
        }

        report.Problem(problem);
        return false;
    }

    /// <summary>Finds out what the server speaks: HTTP/2 without TLS (it answers the HTTP/2 preface) or TLS (it
    /// presents a certificate).</summary>
    private static async Task<(Transport Kind, X509Certificate2? Certificate)> ProbeAsync(
        Target target, CancellationToken cancellationToken)
    {
        if (await ExchangeAsync(target, SpeaksPlaintextHttp2Async, cancellationToken).ConfigureAwait(false))
        {
            return (Transport.Plaintext, null);
        }

        var certificate =
            await ExchangeAsync(target, PresentedCertificateAsync, cancellationToken).ConfigureAwait(false);
        return (certificate is null ? Transport.Unknown : Transport.Tls, certificate);
    }

    private static async Task<T?> ExchangeAsync<T>(
        Target target,
        Func<Target, NetworkStream, CancellationToken, Task<T>> exchange,
        CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(target.Host, target.Port, timeout.Token).ConfigureAwait(false);
            return await exchange(target, client.GetStream(), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or AuthenticationException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return default;
        }
    }

    private static async Task<bool> SpeaksPlaintextHttp2Async(
        Target target, NetworkStream stream, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(Http2Preface, cancellationToken).ConfigureAwait(false);
        var frameHeader = new byte[9];
        await stream.ReadExactlyAsync(frameHeader, cancellationToken).ConfigureAwait(false);
        return frameHeader[3] == 4; // the frame type SETTINGS
    }

    private static async Task<X509Certificate2?> PresentedCertificateAsync(
        Target target, NetworkStream stream, CancellationToken cancellationToken)
    {
        X509Certificate2? presented = null;
        var tls = new SslStream(stream);
        await using (tls.ConfigureAwait(false))
        {
            var options = new SslClientAuthenticationOptions
            {
                TargetHost = target.Host,
                ApplicationProtocols = [SslApplicationProtocol.Http2],

                // Only looks: the certificate is judged right after against Qlik's root_cert.pem, with a clear message,
                // and this connection carries no call.
#pragma warning disable CA5359
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    presented = certificate is null
                        ? null
                        : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    return true;
                },
#pragma warning restore CA5359
            };
            try
            {
                await tls.AuthenticateAsClientAsync(options, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AuthenticationException or IOException && presented is not null)
            {
                // Expected: this probe has no client certificate, and the plugin demands one.
            }
        }

        return presented;
    }

    private static bool CheckTransport(Target target, CertificateFolder? folder, Transport transport, Report report)
    {
        var problem = (transport, folder) switch
        {
            (Transport.Unknown, _) => $"{target.Endpoint} accepts connections but speaks neither gRPC over plaintext "
                + "HTTP/2 nor TLS: it is not SsePlugin. Fix: use the port SsePlugin prints when it starts.",
            (Transport.Tls, null) => $"TLS mismatch: {target.Endpoint} requires TLS (SsePlugin runs with --certs), "
                + $"but Qlik would connect without certificates. {ErrorCode14} Fix: give Qlik the qlik folder that "
                + "`certs generate` wrote (the connection's certificate folder) and run the doctor with --certs that "
                + "folder.",
            (Transport.Plaintext, not null) => $"TLS mismatch: {target.Endpoint} serves plaintext (SsePlugin runs "
                + $"without --certs), but Qlik would connect with TLS. {ErrorCode14} Fix: start SsePlugin with --certs "
                + "its plugin folder, or leave the certificate folder out of Qlik's connection.",
            _ => null,
        };
        if (problem is not null)
        {
            report.Problem(problem);
            return false;
        }

        report.Ok(transport == Transport.Tls
            ? $"{target.Endpoint} speaks TLS."
            : $"{target.Endpoint} speaks HTTP/2 without TLS, as Qlik does without certificates.");
        return true;
    }

    private static bool CheckServerCertificate(
        Target target, CertificateFolder folder, X509Certificate2 certificate, Report report)
    {
        using (certificate)
        {
            var names = string.Join(", ", CertificateFolder.HostNames(certificate));
            if (folder.CheckPeer(certificate, target.Host) is { } problem)
            {
                var fix = folder.CheckPeer(certificate) is null
                    ? "Fix: connect with one of its names, or make new certificates with "
                        + $"`certs generate --host {target.Host}`."
                    : $"Fix: give Qlik the qlik folder made together with SsePlugin's plugin folder.";
                report.Problem(
                    $"Untrusted server: SsePlugin's certificate {certificate.Subject} {problem} {ErrorCode14} {fix}");
                return false;
            }

            report.Ok($"SsePlugin's certificate {certificate.Subject} is issued by {CertificateSide.RootFile}, "
                + $"names {target.Host} ({names}) and is valid until {certificate.NotAfter:yyyy-MM-dd}.");
            return true;
        }
    }

    // A channel as Qlik's engine opens it: plaintext, or mutual TLS with Qlik's certificate folder.
    private static GrpcChannel OpenChannel(Target target, CertificateFolder? folder)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = Timeout,
            SslOptions = folder?.ClientOptions(target.Host) ?? new(),
        };
        var scheme = folder is null ? Uri.UriSchemeHttp : Uri.UriSchemeHttps;
        return GrpcChannel.ForAddress(
            new UriBuilder(scheme, target.Host, target.Port).Uri,
            new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }

    private static async Task<Capabilities?> GetCapabilitiesAsync(
        GrpcChannel channel, CertificateFolder? folder, Report report, CancellationToken cancellationToken)
    {
        try
        {
            var capabilities = await new Connector.ConnectorClient(channel)
                .GetCapabilitiesAsync(
                    new Empty(), deadline: DateTime.UtcNow + Timeout, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            report.Ok($"GetCapabilities: {capabilities.PluginIdentifier} {capabilities.PluginVersion}, "
                + $"{capabilities.Functions.Count} functions, "
                + $"scripts {(capabilities.AllowScript ? "allowed" : "not allowed")}.");
            return capabilities;
        }
        catch (RpcException e)
        {
            var hint = (e.StatusCode, folder) switch
            {
                (StatusCode.Unavailable, not null) =>
                    $"SsePlugin refused the client certificate {folder.Certificate.Subject} (its log says why). "
                    + $"{ErrorCode14} Fix: give Qlik the qlik folder made together with SsePlugin's plugin folder.",
                (StatusCode.Unavailable, null) => $"{ErrorCode14} Fix: check that SsePlugin runs on that port.",
                (StatusCode.Unimplemented, _) => "The server is gRPC but not an SSE plugin. Fix: use SsePlugin's port.",
                _ => "Fix: see SsePlugin's log.",
            };
            report.Problem($"GetCapabilities failed with {e.StatusCode}: {e.Status.Detail} {hint}");
            return null;
        }
    }

    /// <summary>
    /// Asks the standard gRPC health service for every service's status (<c>List</c>), or, from a server that does
    /// not list them, for the whole plugin's (<c>Check</c> of service <c>""</c>). A plugin without the service is
    /// fine: Qlik does not use it.
    /// </summary>
    private static async Task CheckHealthAsync(GrpcChannel channel, Report report, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Timeout;
        IReadOnlyDictionary<string, bool> serving;
        try
        {
            var list = await new ListClient(channel)
                .ListAsync(new HealthListRequest(), deadline: deadline, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            serving = list.Statuses.ToDictionary(
                status => status.Key, status => status.Value.Status == ListedStatus.Serving);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
        {
            try
            {
                var whole = await new Grpc.Health.V1.Health.HealthClient(channel)
                    .CheckAsync(new HealthCheckRequest(), deadline: deadline, cancellationToken: cancellationToken)
                    .ConfigureAwait(false);
                serving = new Dictionary<string, bool> { [string.Empty] = whole.Status == CheckedStatus.Serving };
                report.Line("The plugin's health service lists no services (List); only the whole plugin was checked.");
            }
            catch (RpcException notOffered) when (notOffered.StatusCode == StatusCode.Unimplemented)
            {
                report.Line("The plugin offers no gRPC health service (grpc.health.v1): load balancers and "
                    + "orchestrators cannot probe it. Qlik does not need it.");
                return;
            }
        }
        catch (RpcException e)
        {
            report.Problem(
                $"The health service failed with {e.StatusCode}: {e.Status.Detail} Fix: see SsePlugin's log.");
            return;
        }

        var statuses = serving.OrderBy(service => service.Key, StringComparer.OrdinalIgnoreCase)
            .Select(service => $"{(service.Key.Length == 0 ? "the plugin" : service.Key)} "
                + (service.Value ? "SERVING" : "NOT_SERVING"));
        var line = $"Health (grpc.health.v1): {string.Join(", ", statuses)}.";
        if (serving.Values.All(up => up))
        {
            report.Ok(line);
            return;
        }

        // A draining plugin answers NOT_SERVING everywhere: that one cause is named. Otherwise each service that fails
        // is, the whole plugin only when nothing else explains it.
        report.Line(line);
        var failing = serving.Where(service => !service.Value).Select(service => service.Key).ToList();
        var causes = failing.Contains(Draining) ? [Draining] : failing.Where(n => n.Length > 0 || failing.Count == 1);
        foreach (var service in causes)
        {
            report.Problem(NotServing(service));
        }
    }

    // Why a service answers NOT_SERVING, and what to do about it.
    private static string NotServing(string service) => service switch
    {
        Draining => "The plugin is stopping (draining): it was told to stop (SIGTERM, Ctrl+C, a service stop) and "
            + "takes new calls only for SsePlugin:DrainDelaySeconds more. Fix: start it again, or wait for the "
            + "service manager to restart it.",
        _ when service.StartsWith("rserve:", StringComparison.Ordinal) =>
            $"{service["rserve:".Length..]}: Rserve does not answer there; R scripts go to the other addresses, or "
            + "fail with UNAVAILABLE when none answers. Fix: start Rserve at that address, or correct "
            + "SsePlugin:Rserve and the firewall between the plugin and Rserve.",
        "" => "The plugin answers NOT_SERVING: a health check of its own fails. Fix: see SsePlugin's log.",
        _ => $"{service} answers NOT_SERVING: the connection of that name, or the check, cannot work (a script "
            + "engine that cannot run, such as R without Rserve). Fix: see SsePlugin's log, and the lines above.",
    };

    private static void PrintConnection(
        Target target, CertificateFolder? folder, Capabilities capabilities, Report report)
    {
        if (capabilities.Functions.Count == 0 && !capabilities.AllowScript)
        {
            report.Problem("The plugin offers no functions and no scripts: "
                + "every call fails with \"not a registered function\". "
                + "Fix: add functions (--functions-folder, --functions) or allow scripts.");
        }

        foreach (var function in capabilities.Functions)
        {
            var parameters = string.Join(", ", function.Params.Select(p => p.Name));
            report.Line($"    {target.Alias}.{function.Name}({parameters})");
        }

        if (capabilities.AllowScript)
        {
            report.Line($"    {target.Alias}.ScriptEval('script', ...) and the seven other script functions");
        }

        var alias = target.Alias;
        var certificateFolder = folder is null ? string.Empty : folder.Directory;
        var certificatePath = folder is null
            ? "(empty)"
            : certificateFolder + " (this folder's path on the Qlik server)";
        report.Line($"""

            Qlik Sense Desktop and QlikView: in Settings.ini, under [Settings 7], then restart Qlik:
                SSEPlugin={alias},{target.Endpoint}{(folder is null ? string.Empty : "," + certificateFolder)}
            Qlik Sense Enterprise: QMC > Analytic connections > Create new:
                Name: {alias}
                Host: {target.Host}
                Port: {target.Port}
                Certificate file path: {certificatePath}
                Reconnect timeout (seconds): 20
                Request timeout (seconds): 0
            If Qlik says "{alias}.X is not a registered function": X must be one of the functions above, {alias} the
            connection's name, and the engine must have asked for the functions since they changed: restart it (Desktop,
            QlikView) or save the analytic connection again (QMC).
            """);
    }

    private sealed record Target(string Host, int Port, string? Certs, string Alias)
    {
        public string Endpoint => $"{(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{Port}";
    }

    private sealed class Report(TextWriter output)
    {
        public int Problems { get; private set; }

        public void Line(string text) => output.WriteLine(text);

        public void Ok(string text) => output.WriteLine($"[ok] {text}");

        public void Problem(string text)
        {
            Problems++;
            output.WriteLine($"[problem] {text}");
        }
    }
}
