using System.Security.Cryptography.X509Certificates;
using SsePlugin.FunctionalTests.Infrastructure;
using SsePlugin.Host.Commands;
using SsePlugin.Server.Security;

namespace SsePlugin.FunctionalTests;

/// <summary><c>certs generate</c>: the two folders with Qlik's file names, usable as they are.</summary>
[Collection(TlsHost.Name)]
public sealed class CertsCommandTests(TlsHostFixture tls)
{
    [Fact]
    public void Both_folders_hold_Qlik_s_file_names_and_load_as_each_side_expects()
    {
        var plugin = CertificateFolder.Load(TestCertificates.Plugin(tls.Certificates.Trusted), CertificateSide.Plugin);
        var qlik = CertificateFolder.Load(TestCertificates.Qlik(tls.Certificates.Trusted), CertificateSide.Qlik);

        Assert.Equal(["root_cert.pem", "sse_server_cert.pem", "sse_server_key.pem"], FileNames(plugin.Directory));
        Assert.Equal(["root_cert.pem", "sse_client_cert.pem", "sse_client_key.pem"], FileNames(qlik.Directory));
        Assert.Equal(plugin.Root.Thumbprint, qlik.Root.Thumbprint);
        Assert.Null(plugin.CheckPeer(qlik.Certificate));
        Assert.Null(qlik.CheckPeer(plugin.Certificate, "localhost"));
        Assert.Null(qlik.CheckPeer(plugin.Certificate, "127.0.0.1"));
    }

    [Fact]
    public void Certificates_are_RSA_2048_with_the_usages_Qlik_needs_and_keys_are_private_PKCS8()
    {
        var plugin = TestCertificates.Plugin(tls.Certificates.Trusted);
        using var root = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(plugin, "root_cert.pem")));
        using var server = X509Certificate2.CreateFromPem(
            File.ReadAllText(Path.Combine(plugin, "sse_server_cert.pem")));
        using var client = X509Certificate2.CreateFromPem(
            File.ReadAllText(Path.Combine(TestCertificates.Qlik(tls.Certificates.Trusted), "sse_client_cert.pem")));

        Assert.True(root.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Equal(["1.3.6.1.5.5.7.3.1"], Usages(server));
        Assert.Equal(["1.3.6.1.5.5.7.3.2"], Usages(client));
        Assert.All([root, server, client], c => Assert.Equal(2048, c.GetRSAPublicKey()!.KeySize));
        string[] keys =
        [
            Path.Combine(plugin, "sse_server_key.pem"),
            Path.Combine(TestCertificates.Qlik(tls.Certificates.Trusted), "sse_client_key.pem"),
        ];
        foreach (var key in keys)
        {
            Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(key));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
            }
        }
    }

    [Fact]
    public async Task Without_hosts_the_server_certificate_is_for_localhost_127_0_0_1_and_this_machine()
    {
        var folder = tls.Certificates.NewFolder("default-hosts");

        var (exitCode, output) = await CertsAsync("generate", "--out", folder);

        Assert.True(exitCode == ExitCodes.Ok, output);
        var plugin = CertificateFolder.Load(TestCertificates.Plugin(folder));
        Assert.Equal(
            ["localhost", Environment.MachineName, "127.0.0.1"], CertificateFolder.HostNames(plugin.Certificate));
        Assert.Contains($"start it with --certs {TestCertificates.Plugin(folder)}", output);
    }

    [Fact]
    public async Task Existing_files_are_kept_unless_forced()
    {
        var folder = tls.Certificates.NewFolder("twice");
        await CertsAsync("generate", "--out", folder, "--host", "localhost");
        var first = File.ReadAllText(Path.Combine(folder, "qlik", "sse_client_cert.pem"));

        var (refused, output) = await CertsAsync("generate", "--out", folder, "--host", "localhost");
        var kept = File.ReadAllText(Path.Combine(folder, "qlik", "sse_client_cert.pem"));
        var (forced, _) = await CertsAsync("generate", "--out", folder, "--host", "localhost", "--force");

        Assert.Equal(ExitCodes.Problem, refused);
        Assert.Contains("6 of the files already exist", output);
        Assert.Contains("--force", output);
        Assert.Equal(first, kept);
        Assert.Equal(ExitCodes.Ok, forced);
        Assert.NotEqual(first, File.ReadAllText(Path.Combine(folder, "qlik", "sse_client_cert.pem")));
    }

    [Fact]
    public async Task Options_are_read_in_any_case_and_a_repeated_one_counts_with_its_last_value()
    {
        var folder = tls.Certificates.NewFolder("any-case");

        var (exitCode, output) = await CertsAsync(
            "Generate", "--OUT", folder, "--Host", "localhost", "--days", "10", "--Days", "20", "--force", "--FORCE");

        Assert.True(exitCode == ExitCodes.Ok, output);
        var plugin = CertificateFolder.Load(TestCertificates.Plugin(folder));
        Assert.InRange(plugin.Certificate.NotAfter, DateTime.Now.AddDays(19), DateTime.Now.AddDays(21));
    }

    [Theory]
    [InlineData]
    [InlineData("generate", "--out", "")]
    [InlineData("generate", "--outt", "x")]
    [InlineData("generate", "--out", "x", "--out")]
    [InlineData("create", "--out", "x")]
    [InlineData("generate")]
    [InlineData("generate", "--out", "x", "--host", "not a name!")]
    [InlineData("generate", "--out", "x", "--days", "0")]
    public async Task Wrong_arguments_print_the_usage_and_exit_2(params string[] args)
    {
        var (exitCode, output) = await CertsAsync(args);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains($"Usage:{Environment.NewLine}  SsePlugin.Host certs", output);
    }

    private static string[] FileNames(string directory) =>
        [.. Directory.EnumerateFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    private static string[] Usages(X509Certificate2 certificate) =>
        [
            .. certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages
                .Cast<System.Security.Cryptography.Oid>()
                .Select(o => o.Value!)];

    private static async Task<(int ExitCode, string Output)> CertsAsync(params string[] args)
    {
        using var output = new StringWriter();
        var exitCode = await new HostCommandLine().InvokeAsync(["certs", .. args], output);
        return (exitCode, output.ToString());
    }
}
