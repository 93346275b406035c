using System.Diagnostics;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Grpc.Core;
using SsePlugin.Host;
using Xunit.Abstractions;

namespace SsePlugin.EndToEndTests;

/// <summary>
/// SsePlugin scaled out behind Debian's nginx with the shipped configurations (deploy/nginx): three replicas on
/// loopback, Qlik-like calls over several HTTP/2 connections, one replica drained and one killed under load.
/// </summary>
public sealed partial class ScaleOutTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Nginx_spreads_calls_over_replicas_and_fails_only_calls_caught_by_a_stopping_replica()
    {
        // The replicas drain with the default delay (5 s), which the shipped keepalive_timeout (4 s) is made for.
        var replicas = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => ReplicaHost.StartAsync()));
        try
        {
            await using var nginx =
                await NginxProcess.StartAsync("sseplugin.conf", replicas.Select(r => r.Endpoint));
            using var load =
                new QlikLikeLoad($"http://127.0.0.1:{nginx.Port}", connections: 4, callersPerConnection: 8);
            try
            {
                await SpreadsAsync(load, nginx, replicas);
                await StopsUnderLoadAsync(load, nginx, replicas, replicas[0], kill: false);
                await StopsUnderLoadAsync(load, nginx, replicas, replicas[1], kill: true);
            }
            finally
            {
                var errors = nginx.ErrorLog.Split('\n').Where(l => l.Contains("[error]", StringComparison.Ordinal));
                output.WriteLine($"nginx's error log, its errors:\n{string.Join('\n', errors.Take(20))}");
            }
        }
        finally
        {
            await Task.WhenAll(replicas.Select(r => r.DisposeAsync().AsTask()));
        }
    }

    /// <summary>
    /// The mutual-TLS file, as shipped (TLS from Qlik and to the replicas) and with one side in TLS only, edited as its
    /// header says: Qlik's certificates at nginx, replicas with <c>--certs</c>.
    /// </summary>
    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task Nginx_passes_calls_over_mutual_TLS(bool fromQlik, bool toReplicas)
    {
        var certificates = Directory.CreateTempSubdirectory("sse-nginx-certs-").FullName;
        try
        {
            // One set, as docs/scale-out.md says: the name nginx checks on the replicas (grpc_ssl_name in the
            // shipped file) and the address the test's Qlik uses for nginx.
            await AssertHostCommandAsync(
                ["certs", "generate", "--out", certificates, "--host", "sse.example.com", "--host", "127.0.0.1"]);
            string[] certs = toReplicas ? ["--certs", Path.Combine(certificates, "plugin")] : [];
            var replicas = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => ReplicaHost.StartAsync(certs)));
            try
            {
                Func<string, string>? oneSide = (fromQlik, toReplicas) switch
                {
                    (true, false) => conf => GrpcSslLine().Replace(conf, "").Replace("grpcs://", "grpc://"),
                    (false, true) => conf => SslLine().Replace(conf, "").Replace(" ssl http2;", " http2;"),
                    _ => null,
                };
                await using var nginx = await NginxProcess.StartAsync(
                    "sseplugin-tls.conf", replicas.Select(r => r.Endpoint), certificates, oneSide);
                var qlik = Path.Combine(certificates, "qlik");
                using var clientCertificate = X509Certificate2.CreateFromPemFile(
                    Path.Combine(qlik, "sse_client_cert.pem"), Path.Combine(qlik, "sse_client_key.pem"));
                var address = $"{(fromQlik ? "https" : "http")}://127.0.0.1:{nginx.Port}";
                Func<HttpMessageHandler>? qlikHandler = fromQlik ? () => QlikHandler(qlik, clientCertificate) : null;

                using var load = new QlikLikeLoad(address, 2, 4, qlikHandler);
                var calls = await load.RunAsync(120);
                AssertAllRight(calls);
                string[] doctorCerts = fromQlik ? ["--certs", qlik] : [];
                await AssertHostCommandAsync(
                    ["doctor", "--host", "127.0.0.1", "--port", $"{nginx.Port}", "--alias", "DotNet", .. doctorCerts]);
                var lines = replicas.Select(r => r.CallLines).ToArray();
                output.WriteLine(
                    $"TLS {(fromQlik ? "from Qlik" : "")}{(fromQlik && toReplicas ? " and " : "")}"
                    + $"{(toReplicas ? "to the replicas" : "")}: {calls.Count} calls, none failed; the replicas "
                    + $"answered {string.Join(", ", replicas.Select(r => r.CallsAnswered))}");
                Assert.All(lines, served => Assert.NotEmpty(served));
                Assert.Equal(calls.Count, replicas.Sum(r => r.CallsAnswered));

                if (toReplicas)
                {
                    // The replicas saw nginx call with Qlik's client certificate: the call log names its subject.
                    Assert.All(lines.SelectMany(l => l), line => Assert.Contains(clientCertificate.Subject, line));
                }

                if (fromQlik)
                {
                    // A client without Qlik's certificate gets no call through nginx to a replica.
                    using var stranger = new QlikLikeLoad(address, 1, 1, () => QlikHandler(qlik, null));
                    var refused = await stranger.RunAsync(1);
                    Assert.All(refused, call => Assert.NotNull(call.Failure));
                    const string NoCertificate = "client sent no required SSL certificate";
                    Assert.Contains(NoCertificate, nginx.ErrorLog, StringComparison.Ordinal);
                    Assert.Equal(calls.Count, replicas.Sum(r => r.CallsAnswered));
                }
            }
            finally
            {
                await Task.WhenAll(replicas.Select(r => r.DisposeAsync().AsTask()));
            }
        }
        finally
        {
            Directory.Delete(certificates, recursive: true);
        }
    }

    // Every replica takes a share of the calls, and every call is answered right, by one replica.
    private async Task SpreadsAsync(QlikLikeLoad load, NginxProcess nginx, ReplicaHost[] replicas)
    {
        var before = Served(replicas);
        var calls = await load.RunAsync(1500);
        AssertAllRight(calls);
        var served = await ServedSinceAsync(replicas, before, calls.Count);
        output.WriteLine($"Spread: {calls.Count} calls, 0 failed; answered per replica: {Shares(served)}");

        // least_conn gives the next call to the replica running the fewest: a replica still warming up (its first
        // JavaScript calls compile) takes fewer, so the shares are not even.
        Assert.All(served, share => Assert.True(share > 0, "A replica answered no call."));

        // The doctor, run as on the Qlik server, finds the way through nginx to a replica.
        await AssertHostCommandAsync(["doctor", "--host", "127.0.0.1", "--port", $"{nginx.Port}", "--alias", "DotNet"]);

        // A script of 100 KB: Qlik sends it in a header (base64), which must fit nginx's header buffers.
        var script = "args[0] * args[1] /*" + new string('x', 100_000) + "*/";
        var large = await load.CallScriptAsync(script);
        Assert.True(large.Failure is null, $"A script of 100 KB: {large.Status} {large.Failure}");
    }

    // A replica stopped under load, by SIGTERM (drained) or SIGKILL. nginx passes the calls that follow to the
    // others. Drained, no call fails: each call it takes while draining closes its connection behind it, nginx
    // closes idle ones before the delay ends, and the calls that find the port closed go elsewhere. Killed, the
    // calls it was running fail, as nginx retries no call it has begun to send (docs/scale-out.md): Unavailable,
    // as nginx answers 502 (Bad Gateway) in the replica's place, or Internal if nginx had passed the start of the
    // replica's answer on and could only reset the stream (RST_STREAM INTERNAL_ERROR).
    private async Task StopsUnderLoadAsync(
        QlikLikeLoad load, NginxProcess nginx, ReplicaHost[] replicas, ReplicaHost stopped, bool kill)
    {
        var before = Served(replicas);
        using var stop = new CancellationTokenSource();
        var running = load.RunUntilAsync(stop.Token);
        await load.WaitForCompletedAsync(load.Completed + 300);
        var signalled = Stopwatch.StartNew();
        var exitCode = 0;
        if (kill)
        {
            await stopped.KillAsync();
        }
        else
        {
            exitCode = await stopped.TerminateAsync();
        }

        var tookToExit = signalled.Elapsed;
        var gone = load.Now;
        await load.WaitForCompletedAsync(load.Completed + 600);
        await stop.CancelAsync();
        var calls = await running;
        var after = await load.RunAsync(300);

        var failed = calls.Where(c => c.Failure is not null).ToList();
        var passed = nginx.AccessLog().ToDictionary(line => line.CallId);
        var passedOn =
            calls.Count(c => passed[c.Id].Upstreams.StartsWith(stopped.Endpoint + ",", StringComparison.Ordinal));
        output.WriteLine(
            $"{(kill ? "Kill" : "Drain")}: {calls.Count} calls, {failed.Count} failed"
            + (failed.Count == 0
                ? null
                : $" ({string.Join(", ", failed.GroupBy(c => c.Status).Select(g => $"{g.Count()} {g.Key}"))})")
            + "; the "
            + $"replica {(kill ? "was killed" : $"exited with {exitCode}")} {tookToExit.TotalSeconds:0.00} s after "
            + $"{(kill ? "SIGKILL" : "SIGTERM")}; answered per replica: "
            + $"{Shares(Served(replicas).Zip(before, (now, then) => now - then))}; then {after.Count} calls, "
            + $"{after.Count(c => c.Failure is not null)} failed; nginx passed {passedOn} calls the stopped replica "
            + "refused to another");
        foreach (var call in failed)
        {
            output.WriteLine($"  call {call.Id} ({call.Function}): nginx answered {passed[call.Id].Status} from "
                + $"{passed[call.Id].Upstreams}; the client got {call.Status}: {call.Failure}");
        }

        if (failed.Count > 0)
        {
            var lastLines = stopped.Printed.Split('\n')[^15..];
            output.WriteLine($"The stopped replica's last lines:\n{string.Join('\n', lastLines)}");
        }

        Assert.Equal(0, exitCode);
        Assert.True(kill || failed.Count == 0, $"{failed.Count} calls failed as the replica drained (listed above).");
        Assert.All(failed, call =>
        {
            var line = passed[call.Id];
            var explained = (call.Status, line.Status) is (StatusCode.Unavailable, 502)
                || (kill && (call.Status, line.Status) is (StatusCode.Internal, 200));
            Assert.True(
                explained,
                $"Call {call.Id}: nginx answered {line.Status}, the client got {call.Status} {call.Failure}");
            Assert.EndsWith(stopped.Endpoint, line.Upstreams, StringComparison.Ordinal);
            Assert.True(line.Connected, $"Call {call.Id} failed though the replica refused the connection.");
            Assert.True(call.Started < gone, $"Call {call.Id} started after the replica had exited, and failed.");
        });
        AssertAllRight(after);
    }

    private static void AssertAllRight(IReadOnlyList<CallOutcome> calls)
    {
        var wrong = calls.Where(c => c.Failure is not null).Take(10).Select(c => $"{c.Id} {c.Status}: {c.Failure}");
        Assert.True(!wrong.Any(), $"Calls failed or answered wrong:\n{string.Join('\n', wrong)}");
    }

    private static int[] Served(ReplicaHost[] replicas) => [.. replicas.Select(r => r.CallsAnswered)];

    // The calls each replica logged since then; every right answer is one line of one replica's call log.
    private static async Task<int[]> ServedSinceAsync(ReplicaHost[] replicas, int[] before, int calls)
    {
        var stopAt = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        int[] served;
        while ((served = [.. Served(replicas).Zip(before, (now, then) => now - then)]).Sum() < calls
               && DateTime.UtcNow < stopAt)
        {
            await Task.Delay(50);
        }

        Assert.Equal(calls, served.Sum());
        return served;
    }

    private static string Shares(IEnumerable<int> served) => string.Join(", ", served);

    // Runs a command of the host (certs, doctor) as an administrator does, and asserts it succeeds.
    private static async Task AssertHostCommandAsync(string[] args)
    {
        await using var process = await ChildProcess.RunAsync(
            "dotnet", [typeof(SsePluginHost).Assembly.Location, .. args], ReplicaHost.StartOrStopTimeout);
        Assert.True(process.ExitCode == 0, $"{string.Join(' ', args)}: {process.Printed}");
    }

    // The lines of the TLS file for one side: "    grpc_ssl_name sse.example.com;" and "    ssl_verify_client on;".
    [GeneratedRegex(@"^[ \t]*grpc_ssl_\w+ [^;\n]*;\n", RegexOptions.Multiline)]
    private static partial Regex GrpcSslLine();

    [GeneratedRegex(@"^[ \t]*ssl_\w+ [^;\n]*;\n", RegexOptions.Multiline)]
    private static partial Regex SslLine();

    // What Qlik's engine does with its certificate folder: present sse_client_cert.pem, trust root_cert.pem only.
    private static SocketsHttpHandler QlikHandler(string qlik, X509Certificate2? clientCertificate)
    {
        var root = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(qlik, "root_cert.pem"));
        return new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                    {
                        return false;
                    }

                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(root);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
                },
            },
        };
    }
}
