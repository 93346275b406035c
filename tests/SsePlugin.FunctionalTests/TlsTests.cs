using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using SsePlugin.FunctionalTests.Infrastructure;
using SsePlugin.Host.Security;
using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests;

/// <summary>
/// The host with <c>--certs</c>: mutual TLS with certificates made by <c>certs generate</c>, and every other client
/// refused.
/// </summary>
[Collection(TlsHost.Name)]
public sealed class TlsTests(TlsHostFixture tls)
{
    [Fact]
    public async Task Qlik_s_certificate_folder_calls_GetCapabilities_and_ExecuteFunction_over_mutual_TLS()
    {
        var client = tls.ConnectAsQlik(tls.Certificates.Trusted);

        var capabilities = await client.GetCapabilitiesAsync();
        var answer = await client.ExecuteAsync(5, Bundle([Numeric(1, 2), Numeric(3, 4)]));

        Assert.Equal(tls.Host.Address.Scheme, Uri.UriSchemeHttps);
        Assert.Contains(capabilities.Functions, f => f is { Name: "SumOfRows", Id: 5 });
        Assert.Equal([3, 7], answer.Numbers());
    }

    [Fact]
    public async Task The_call_log_names_the_peer_address_and_the_client_certificate()
    {
        var client = tls.ConnectAsQlik(tls.Certificates.Trusted);

        await client.ExecuteAsync(Headers(5, appId: "who-called"), [Bundle([Numeric(1, 2)])]);

        var line = await tls.Log.WaitForAsync("ExecuteFunction", "who-called");
        Assert.Matches(@"from ""?ipv4:127\.0\.0\.1:\d+ \(CN=Qlik engine \(SsePlugin client\), O=SsePlugin\)", line);
    }

    [Fact]
    public async Task A_plaintext_client_is_refused()
    {
        var client = tls.Host.Connect(handler: null, new UriBuilder(tls.ByName) { Scheme = Uri.UriSchemeHttp }.Uri);

        var error = await FailsAsync(() => client.GetCapabilitiesAsync());

        AssertRefused(error);
        await tls.Log.WaitForAsync("No TLS handshake with", "127.0.0.1:", "a plaintext client");
    }

    [Fact]
    public async Task A_TLS_client_without_a_certificate_is_refused()
    {
        var client = tls.ConnectPresenting(clientCertificate: null);

        var error = await FailsAsync(() => client.GetCapabilitiesAsync());

        AssertRefused(error);
        await tls.Log.WaitForAsync("No TLS handshake with", "127.0.0.1:", "a client without a certificate");
    }

    [Fact]
    public async Task A_client_certificate_from_another_root_is_refused_and_logged()
    {
        var foreign = TlsHostFixture.QlikFolder(tls.Certificates.Foreign).Certificate;
        var client = tls.ConnectPresenting(foreign);

        var error = await FailsAsync(() => client.GetCapabilitiesAsync());

        AssertRefused(error);
        var line = await tls.Log.WaitForAsync("Refused a client certificate", foreign.Issuer);
        Assert.Contains("is not issued by root_cert.pem", line);
    }

    [Fact]
    public async Task A_client_certificate_from_an_impostor_root_of_the_trusted_root_s_name_is_refused_with_the_reason()
    {
        var trustedRoot = TlsHostFixture.QlikFolder(tls.Certificates.Trusted).Root;
        using var impostorKey = RSA.Create(2048);
        var request = new CertificateRequest(
            trustedRoot.SubjectName, impostorKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = DateTimeOffset.UtcNow;
        using var impostor = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        using var impostorClient = CertificateGenerator.CreateClient(impostor, now.AddDays(-1), now.AddDays(29));
        var client = tls.ConnectPresenting(impostorClient);

        var error = await FailsAsync(() => client.GetCapabilitiesAsync());

        AssertRefused(error);
        var line = await tls.Log.WaitForAsync("Refused a client certificate", "that root did not sign it");
        Assert.Contains($"names root_cert.pem ({trustedRoot.Subject}) as its issuer", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_TLS_client_that_offers_no_HTTP2_is_logged_with_its_peer_address()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, tls.Host.Address.Port);
        await using var stream = new SslStream(tcp.GetStream());
        var options = TlsHostFixture.QlikFolder(tls.Certificates.Trusted).ClientOptions("localhost");
        options.ApplicationProtocols = null;
        await stream.AuthenticateAsClientAsync(options);
        var local = ((IPEndPoint)tcp.Client.LocalEndPoint!).Port;

        // The host closes the connection: HTTP/2 was not agreed on.
        while (await stream.ReadAsync(new byte[256]) > 0)
        {
        }

        var line = await tls.Log.WaitForAsync("127.0.0.1:" + local.ToString(CultureInfo.InvariantCulture));
        Assert.Contains("HTTP/2", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_flood_of_failed_handshakes_costs_a_few_log_lines_a_second_and_a_good_client_is_still_served()
    {
        var log = new LogCapture();
        string[] args =
        [
            "--certs", TestCertificates.Plugin(tls.Certificates.Trusted),
            "--Serilog:MinimumLevel:Default", "Information",
        ];
        await using var host = await TestHost.StartAsync(args, log.AddTo);
        var flood = Stopwatch.StartNew();

        // 500 plaintext clients, 10 at a time, each sending HTTP/2's preface where the host expects a TLS hello.
        await Parallel.ForAsync(0, 500, new ParallelOptions { MaxDegreeOfParallelism = 10 }, async (_, token) =>
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, host.Address.Port, token);
            var stream = tcp.GetStream();
            try
            {
                await stream.WriteAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray(), token);
                while (await stream.ReadAsync(new byte[256], token) > 0)
                {
                }
            }
            catch (IOException)
            {
                // The host reset the connection.
            }
        });

        // Every failed handshake is either logged or counted in a summary line, within a second of failing.
        List<Serilog.Events.LogEvent> Lines() =>
            [.. log.Events.Where(e => e.MessageTemplate.Text.StartsWith("No TLS handshake", StringComparison.Ordinal))];
        int Failed() => Lines().Count + log.Events
            .Where(e => e.Properties.ContainsKey("Failures"))
            .Sum(e => int.Parse(e.Properties["Count"].ToString(), CultureInfo.InvariantCulture));
        while (Failed() < 500 && flood.Elapsed < CallTimeout)
        {
            await Task.Delay(100);
        }

        var seconds = (int)flood.Elapsed.TotalSeconds + 2;
        Assert.Equal(500, Failed());
        Assert.InRange(Lines().Count, 1, FailureLimit * seconds);
        Assert.Contains(
            log.Messages,
            m => m.Contains("more failed TLS connections within a second (\"no handshake ", StringComparison.Ordinal));
        var options = TlsHostFixture.QlikFolder(tls.Certificates.Trusted).ClientOptions("localhost");
        var good = host.Connect(
            new SocketsHttpHandler { SslOptions = options }, new UriBuilder(host.Address) { Host = "localhost" }.Uri);
        var answer = await good.ExecuteAsync(5, Bundle([Numeric(1, 2)]));
        Assert.Equal([3], answer.Numbers());
    }

    [Fact]
    public async Task Each_analytic_connection_has_its_own_transport()
    {
        await using var host = await TestHost.StartAsync(
            "--SsePlugin:Connections:Secure:Port", "0",
            "--SsePlugin:Connections:Secure:Certs", TestCertificates.Plugin(tls.Certificates.Trusted));
        var plain = host.Addresses.Single(a => a.Scheme == Uri.UriSchemeHttp);
        var secure = new UriBuilder(
            host.Addresses.Single(a => a.Scheme == Uri.UriSchemeHttps)) { Host = "localhost" }.Uri;
        var options = TlsHostFixture.QlikFolder(tls.Certificates.Trusted).ClientOptions("localhost");

        var overPlaintext = await host.Connect(handler: null, plain).ExecuteAsync(5, Bundle([Numeric(1, 2)]));
        var overTls = await host.Connect(
            new SocketsHttpHandler { SslOptions = options }, secure).ExecuteAsync(5, Bundle([Numeric(3, 4)]));
        var plaintextToTls = await FailsAsync(
            () => host.Connect(handler: null, new UriBuilder(secure) { Scheme = Uri.UriSchemeHttp }.Uri)
                .GetCapabilitiesAsync());

        Assert.Equal([3], overPlaintext.Numbers());
        Assert.Equal([7], overTls.Numbers());
        AssertRefused(plaintextToTls);
    }

    // The lines a second FailureLogLimit allows.
    private const int FailureLimit = 20;

    // gRPC C-core (Qlik) reports UNAVAILABLE; .NET's client says Internal when the refusal comes while it reads.
    private static void AssertRefused(RpcException error) =>
        Assert.Contains(error.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal });
}
