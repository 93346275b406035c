using SsePlugin.Host.Security;
using SsePlugin.Server.Security;
using Xunit;

using static SsePlugin.InteropTests.Dual;

namespace SsePlugin.InteropTests;

/// <summary>
/// The built host with <c>--certs</c>, on certificates made by <c>certs generate</c>'s code; the Python client
/// connects as Qlik does: by host name, with the files of Qlik's certificate folder.
/// </summary>
public sealed class TlsFixture : InteropFixture
{
    public TlsFixture()
        : this(GenerateCertificates())
    {
    }

    private TlsFixture(string certificates)
        : base("--certs", Path.Combine(certificates, CertificateSide.Plugin.Folder)) => Certificates = certificates;

    /// <summary>Gets the folder holding <c>plugin/</c> and <c>qlik/</c>.</summary>
    public string Certificates { get; }

    public string QlikFolder => Path.Combine(Certificates, CertificateSide.Qlik.Folder);

    protected override string TargetHost => "localhost";

    protected override IReadOnlyList<string> ClientArguments => ["--certs", QlikFolder];

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (Directory.Exists(Certificates))
        {
            Directory.Delete(Certificates, recursive: true);
        }
    }

    private static string GenerateCertificates()
    {
        var directory = Directory.CreateTempSubdirectory("sse-interop-certs-").FullName;
        CertificateGenerator.Generate(directory, ["localhost"], days: 30, overwrite: false);
        return directory;
    }
}

/// <summary>
/// gRPC C-core (Python's grpcio, as Qlik's engine) over mutual TLS: served with Qlik's certificate folder, refused
/// without a client certificate.
/// </summary>
public sealed class TlsInteropTests(TlsFixture plugin) : IClassFixture<TlsFixture>
{
    [Fact]
    public Task GetCapabilities_and_a_function_call_succeed_over_mutual_TLS_with_Qlik_s_certificate_folder() =>
        plugin.CallAsync(
            [Call.GetCapabilities(), Call.Execute("SumOfRows", [[N(1), N(2)], [N(3.5), N(-1)]])],
            results =>
            {
                Assert.Equal(8, results[0].Ok().Capabilities!.Functions.Length);
                Assert.Equal([3, 2.5], results[1].Ok().Column(0).Select(d => d.Num!.Value));
            });

    [Fact]
    public Task A_TLS_client_without_a_client_certificate_is_UNAVAILABLE() =>
        plugin.CallAsync(
            [Call.GetCapabilities()],
            results => Assert.Equal("UNAVAILABLE", results[0].Code),
            ["--root", Path.Combine(plugin.QlikFolder, CertificateSide.RootFile)]);

    [Fact]
    public Task A_plaintext_client_is_UNAVAILABLE() =>
        plugin.CallAsync([Call.GetCapabilities()], results => Assert.Equal("UNAVAILABLE", results[0].Code), []);
}
