using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using SsePlugin.Client;
using SsePlugin.Server.Security;

namespace SsePlugin.FunctionalTests.Infrastructure;

/// <summary>
/// A host started with <c>--certs</c> (the <see cref="TestCertificates.Trusted"/> set), its log kept.
/// </summary>
public sealed class TlsHostFixture : IAsyncLifetime
{
    private TestHost? _host;

    public TestCertificates Certificates { get; } = new();

    public LogCapture Log { get; } = new();

    public TestHost Host => _host!;

    /// <summary>The host's address by name, as Qlik connects: <c>https://localhost:port</c>.</summary>
    public Uri ByName => new UriBuilder(Host.Address) { Host = "localhost" }.Uri;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync(
        ["--certs", TestCertificates.Plugin(Certificates.Trusted), "--Serilog:MinimumLevel:Default", "Information"],
        Log.AddTo);

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        Certificates.Dispose();
    }

    /// <summary>A client with a set's Qlik folder, as Qlik's engine is configured.</summary>
    internal SseClient ConnectAsQlik(string set) =>
        Connect(QlikFolder(set).ClientOptions("localhost"));

    /// <summary>
    /// A client that trusts the host (it checks the server against the trusted root) and presents the given
    /// certificate, or none.
    /// </summary>
    internal SseClient ConnectPresenting(X509Certificate2? clientCertificate)
    {
        var options = QlikFolder(Certificates.Trusted).ClientOptions("localhost");
        options.ClientCertificateContext = clientCertificate is null
            ? null
            : SslStreamCertificateContext.Create(clientCertificate, null, offline: true);
        return Connect(options);
    }

    internal static CertificateFolder QlikFolder(string set) =>
        CertificateFolder.Load(TestCertificates.Qlik(set), CertificateSide.Qlik);

    private SseClient Connect(SslClientAuthenticationOptions options) =>
        Host.Connect(new SocketsHttpHandler { SslOptions = options }, ByName);
}

/// <summary>
/// The tests that make certificates or connect with them: they share one TLS host and its certificates, and run one
/// at a time after the others, so that their key generation and extra hosts do not slow the time-limited script tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TlsHost : ICollectionFixture<TlsHostFixture>
{
    public const string Name = "tls";
}
