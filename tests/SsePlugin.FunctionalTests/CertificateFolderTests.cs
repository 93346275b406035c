using SsePlugin.FunctionalTests.Infrastructure;
using SsePlugin.Host;
using SsePlugin.Host.Security;
using SsePlugin.Server.Security;

namespace SsePlugin.FunctionalTests;

/// <summary>
/// Fail closed: a certificate folder with any bad file stops the host at start, naming the file; it never serves
/// plaintext instead.
/// </summary>
[Collection(TlsHost.Name)]
public sealed class CertificateFolderTests(TlsHostFixture tls)
{
    [Fact]
    public void The_generated_plugin_folder_is_accepted()
    {
        var folder = CertificateFolder.Load(TestCertificates.Plugin(tls.Certificates.Trusted));

        Assert.True(folder.Certificate.HasPrivateKey);
        Assert.Equal(["localhost", "127.0.0.1"], CertificateFolder.HostNames(folder.Certificate));
    }

    [Fact]
    public void A_missing_key_file_is_named()
    {
        var folder = tls.Certificates.Copy(TestCertificates.Plugin(tls.Certificates.Trusted), "missing-key");
        File.Delete(Path.Combine(folder, "sse_server_key.pem"));

        AssertRefusesToStart(folder, "sse_server_key.pem: not found.");
    }

    [Fact]
    public void A_look_alike_file_name_is_pointed_out()
    {
        var folder = tls.Certificates.Copy(TestCertificates.Plugin(tls.Certificates.Trusted), "crt");
        File.Move(Path.Combine(folder, "sse_server_cert.pem"), Path.Combine(folder, "sse_server_cert.crt"));

        AssertRefusesToStart(
            folder, "sse_server_cert.pem: not found. There is sse_server_cert.crt: rename it to sse_server_cert.pem");
    }

    [Fact]
    public void The_Qlik_folder_given_to_the_host_is_recognised()
    {
        AssertRefusesToStart(
            TestCertificates.Qlik(tls.Certificates.Trusted),
            "sse_server_cert.pem: not found. There is sse_client_cert.pem and sse_client_key.pem, which belong to "
            + "the Qlik engine");
    }

    [Fact]
    public void An_unreadable_file_is_named()
    {
        var folder = tls.Certificates.Copy(TestCertificates.Plugin(tls.Certificates.Trusted), "unreadable");
        File.Delete(Path.Combine(folder, "root_cert.pem"));
        Directory.CreateDirectory(Path.Combine(folder, "root_cert.pem"));

        AssertRefusesToStart(folder, "root_cert.pem: cannot be read:");
    }

    [Fact]
    public void A_key_of_another_pair_is_a_mismatch()
    {
        var folder = tls.Certificates.Copy(TestCertificates.Plugin(tls.Certificates.Trusted), "mismatch");
        File.Copy(
            Path.Combine(TestCertificates.Plugin(tls.Certificates.Foreign), "sse_server_key.pem"),
            Path.Combine(folder, "sse_server_key.pem"), overwrite: true);

        AssertRefusesToStart(folder, "sse_server_key.pem: does not belong to sse_server_cert.pem");
    }

    [Fact]
    public void An_expired_server_certificate_is_named()
    {
        var now = DateTimeOffset.UtcNow;
        using var root = CertificateGenerator.CreateRoot(now.AddDays(-60), now.AddDays(60));
        using var expired = CertificateGenerator.CreateServer(root, ["localhost"], now.AddDays(-30), now.AddDays(-1));
        var folder = tls.Certificates.NewFolder("expired");
        CertificateGenerator.WriteFolder(folder, CertificateSide.Plugin, root, expired, overwrite: false);

        AssertRefusesToStart(folder, "sse_server_cert.pem: expired on");
    }

    [Fact]
    public void A_server_certificate_from_another_root_is_named()
    {
        var folder = tls.Certificates.Copy(TestCertificates.Plugin(tls.Certificates.Trusted), "other-root");
        foreach (var file in new[] { "sse_server_cert.pem", "sse_server_key.pem" })
        {
            File.Copy(
                Path.Combine(TestCertificates.Plugin(tls.Certificates.Foreign), file), Path.Combine(folder, file),
                overwrite: true);
        }

        AssertRefusesToStart(folder, "sse_server_cert.pem: is not issued by root_cert.pem");
    }

    [Fact]
    public void A_root_file_without_a_certificate_is_named()
    {
        var folder = tls.Certificates.Copy(TestCertificates.Plugin(tls.Certificates.Trusted), "not-pem");
        File.WriteAllText(Path.Combine(folder, "root_cert.pem"), "not a certificate");

        AssertRefusesToStart(folder, "root_cert.pem: holds no PEM certificate");
    }

    [Fact]
    public async Task The_host_executable_exits_with_code_2_and_never_listens()
    {
        var folder = tls.Certificates.Copy(TestCertificates.Plugin(tls.Certificates.Trusted), "exit-code");
        File.Delete(Path.Combine(folder, "sse_server_key.pem"));

        var (exitCode, printed) = await HostProcess.RunToExitAsync("--port", "0", "--certs", folder);

        Assert.Equal(2, exitCode);
        Assert.Contains($"problem(s) in the certificate folder {folder}", printed);
        Assert.Contains("sse_server_key.pem: not found.", printed);
        Assert.DoesNotContain("Now listening", printed);
    }

    private static void AssertRefusesToStart(string folder, string problem)
    {
        var error = Assert.Throws<CertificateFolderException>(
            () => SsePluginHost.Build(["--port", "0", "--certs", folder]));

        Assert.Contains(error.Problems, p => p.StartsWith(problem, StringComparison.Ordinal));
    }
}
