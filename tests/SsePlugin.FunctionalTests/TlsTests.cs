using Grpc.Core;
using Qlik.Sse;
using SsePlugin.FunctionalTests.Infrastructure;
using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests;

/// <summary>The host with <c>--certs</c>: mutual TLS with certificates made by <c>certs generate</c>, and every other client refused.</summary>
[Collection(TlsHost.Name)]
public sealed class TlsTests(TlsHostFixture tls)
{
    [Fact]
    public async Task Qlik_s_certificate_folder_calls_GetCapabilities_and_ExecuteFunction_over_mutual_TLS()
    {
        var client = tls.ConnectAsQlik(tls.Certificates.Trusted);

        var capabilities = await client.GetCapabilitiesAsync(new Empty());
        var answer = await client.ExecuteAsync(5, Bundle([Numeric(1, 2), Numeric(3, 4)]));

        Assert.Equal(tls.Host.Address.Scheme, Uri.UriSchemeHttps);
        Assert.Contains(capabilities.Functions, f => f is { Name: "SumOfRows", FunctionId: 5 });
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

        var error = await FailsAsync(() => client.GetCapabilitiesAsync(new Empty()).ResponseAsync);

        AssertRefused(error);
        await tls.Log.WaitForAsync("No TLS handshake with", "127.0.0.1:", "a plaintext client");
    }

    [Fact]
    public async Task A_TLS_client_without_a_certificate_is_refused()
    {
        var client = tls.ConnectPresenting(clientCertificate: null);

        var error = await FailsAsync(() => client.GetCapabilitiesAsync(new Empty()).ResponseAsync);

        AssertRefused(error);
        await tls.Log.WaitForAsync("No TLS handshake with", "127.0.0.1:", "a client without a certificate");
    }

    [Fact]
    public async Task A_client_certificate_from_another_root_is_refused_and_logged()
    {
        var foreign = TlsHostFixture.QlikFolder(tls.Certificates.Foreign).Certificate;
        var client = tls.ConnectPresenting(foreign);

        var error = await FailsAsync(() => client.GetCapabilitiesAsync(new Empty()).ResponseAsync);

        AssertRefused(error);
        var line = await tls.Log.WaitForAsync("Refused a client certificate", foreign.Issuer);
        Assert.Contains("is not issued by root_cert.pem", line);
    }

    [Fact]
    public async Task Each_analytic_connection_has_its_own_transport()
    {
        await using var host = await TestHost.StartAsync(
            "--SsePlugin:Connections:Secure:Port", "0",
            "--SsePlugin:Connections:Secure:Certs", TestCertificates.Plugin(tls.Certificates.Trusted));
        var plain = host.Addresses.Single(a => a.Scheme == Uri.UriSchemeHttp);
        var secure = new UriBuilder(host.Addresses.Single(a => a.Scheme == Uri.UriSchemeHttps)) { Host = "localhost" }.Uri;
        var options = TlsHostFixture.QlikFolder(tls.Certificates.Trusted).ClientOptions("localhost");

        var overPlaintext = await host.Connect(handler: null, plain).ExecuteAsync(5, Bundle([Numeric(1, 2)]));
        var overTls = await host.Connect(new SocketsHttpHandler { SslOptions = options }, secure).ExecuteAsync(5, Bundle([Numeric(3, 4)]));
        var plaintextToTls = await FailsAsync(() => host.Connect(handler: null, new UriBuilder(secure) { Scheme = Uri.UriSchemeHttp }.Uri).GetCapabilitiesAsync(new Empty()).ResponseAsync);

        Assert.Equal([3], overPlaintext.Numbers());
        Assert.Equal([7], overTls.Numbers());
        AssertRefused(plaintextToTls);
    }

    // gRPC C-core (Qlik) reports UNAVAILABLE; .NET's client says Internal when the refusal comes while it reads.
    private static void AssertRefused(RpcException error) => Assert.Contains(error.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal });
}
