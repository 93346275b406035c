using System.Net;
using System.Net.Sockets;
using SsePlugin.FunctionalTests.Infrastructure;
using SsePlugin.Host.Commands;

namespace SsePlugin.FunctionalTests;

/// <summary>
/// The doctor against real hosts: it passes a good set-up and names what is wrong with each broken one.
/// </summary>
[Collection(TlsHost.Name)]
public sealed class DoctorTests(TlsHostFixture tls)
{
    private const string ErrorCode14 = "\"error code 14\"";

    private int TlsPort => tls.Host.Address.Port;

    private string QlikFolder => TestCertificates.Qlik(tls.Certificates.Trusted);

    [Fact]
    public async Task Mutual_TLS_as_Qlik_passes_and_prints_the_settings_ini_line_and_the_QMC_fields()
    {
        var (exitCode, output) = await DoctorAsync(
            "--host", "localhost", "--port", $"{TlsPort}", "--certs", QlikFolder, "--alias", "DotNet");

        Assert.True(exitCode == ExitCodes.Ok, output);
        Assert.Contains("DotNet.SumOfRows(col1, col2)", output);
        Assert.Contains($"SSEPlugin=DotNet,localhost:{TlsPort},{QlikFolder}{Environment.NewLine}", output);
        Assert.Contains("Name: DotNet", output);
        Assert.Contains($"Port: {TlsPort}", output);
        Assert.Contains($"Certificate file path: {QlikFolder}", output);
        Assert.Contains("not a registered function", output);
    }

    [Fact]
    public async Task Plaintext_as_Qlik_without_certificates_passes()
    {
        await using var plaintext = await TestHost.StartAsync();
        var port = plaintext.Address.Port;

        var (exitCode, output) = await DoctorAsync("--host", "127.0.0.1", "--port", $"{port}");

        Assert.True(exitCode == ExitCodes.Ok, output);
        Assert.Contains($"SSEPlugin=SSE,127.0.0.1:{port}{Environment.NewLine}", output);
        Assert.Contains("Certificate file path: (empty)", output);
    }

    [Fact]
    public async Task Nothing_listening_is_not_reachable()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var (exitCode, output) = await DoctorAsync("--host", "127.0.0.1", "--port", $"{port}");

        Assert.Equal(ExitCodes.Problem, exitCode);
        Assert.Contains($"[problem] 127.0.0.1:{port} is not reachable: nothing listens there", output);
        Assert.Contains(ErrorCode14, output);
    }

    [Fact]
    public async Task Plaintext_against_the_TLS_host_is_a_TLS_mismatch()
    {
        var (exitCode, output) = await DoctorAsync("--host", "localhost", "--port", $"{TlsPort}");

        Assert.Equal(ExitCodes.Problem, exitCode);
        Assert.Contains($"[problem] TLS mismatch: localhost:{TlsPort} requires TLS", output);
        Assert.Contains(ErrorCode14, output);
    }

    [Fact]
    public async Task TLS_against_a_plaintext_host_is_a_TLS_mismatch()
    {
        await using var plaintext = await TestHost.StartAsync();

        var (exitCode, output) = await DoctorAsync(
            "--host", "localhost", "--port", $"{plaintext.Address.Port}", "--certs", QlikFolder);

        Assert.Equal(ExitCodes.Problem, exitCode);
        Assert.Contains($"[problem] TLS mismatch: localhost:{plaintext.Address.Port} serves plaintext", output);
        Assert.Contains(ErrorCode14, output);
    }

    [Fact]
    public async Task A_Qlik_folder_from_another_root_is_an_untrusted_server()
    {
        var (exitCode, output) = await DoctorAsync(
            "--host", "localhost", "--port", $"{TlsPort}", "--certs", TestCertificates.Qlik(tls.Certificates.Foreign));

        Assert.Equal(ExitCodes.Problem, exitCode);
        Assert.Contains(
            "[problem] Untrusted server: SsePlugin's certificate CN=localhost, O=SsePlugin is not issued by "
            + "root_cert.pem",
            output);
        Assert.Contains(ErrorCode14, output);
    }

    [Fact]
    public async Task A_host_name_missing_from_the_server_certificate_is_a_name_mismatch()
    {
        var elsewhere = tls.Certificates.Generate("elsewhere", "sse.example.com");
        await using var host = await TestHost.StartAsync("--certs", TestCertificates.Plugin(elsewhere));

        var (exitCode, output) = await DoctorAsync(
            "--host", "localhost", "--port", $"{host.Address.Port}", "--certs", TestCertificates.Qlik(elsewhere));

        Assert.Equal(ExitCodes.Problem, exitCode);
        Assert.Contains("is for sse.example.com, not for localhost.", output);
        Assert.Contains("certs generate --host localhost", output);
    }

    [Fact]
    public async Task Wrong_file_names_are_named_with_the_expected_ones()
    {
        var folder = tls.Certificates.Copy(QlikFolder, "renamed");
        File.Move(Path.Combine(folder, "sse_client_cert.pem"), Path.Combine(folder, "sse_client_cert.crt"));
        File.Move(Path.Combine(folder, "sse_client_key.pem"), Path.Combine(folder, "sse_client.key"));

        var (exitCode, output) = await DoctorAsync("--host", "localhost", "--port", $"{TlsPort}", "--certs", folder);

        Assert.Equal(ExitCodes.Problem, exitCode);
        Assert.Contains(
            "sse_client_cert.pem: not found. There is sse_client_cert.crt: rename it to sse_client_cert.pem", output);
        Assert.Contains("sse_client_key.pem: not found.", output);
        Assert.Contains("Qlik reads exactly root_cert.pem, sse_client_cert.pem, sse_client_key.pem", output);
    }

    [Fact]
    public async Task The_plugin_folder_given_as_Qlik_s_is_recognised()
    {
        var (exitCode, output) = await DoctorAsync(
            "--host", "localhost", "--port", $"{TlsPort}", "--certs",
            TestCertificates.Plugin(tls.Certificates.Trusted));

        Assert.Equal(ExitCodes.Problem, exitCode);
        Assert.Contains("There is sse_server_cert.pem and sse_server_key.pem, which belong to SsePlugin", output);
    }

    [Fact]
    public async Task Options_are_read_in_any_case_and_a_repeated_one_counts_with_its_last_value()
    {
        await using var plaintext = await TestHost.StartAsync();
        var port = plaintext.Address.Port;

        var (exitCode, output) = await DoctorAsync(
            "--HOST", "127.0.0.1", "--Port", "1", "--port", $"{port}", "--Alias", "First", "--alias", "Last");

        Assert.True(exitCode == ExitCodes.Ok, output);
        Assert.Contains($"SSEPlugin=Last,127.0.0.1:{port}{Environment.NewLine}", output);
    }

    [Theory]
    [InlineData]
    [InlineData("--host", "")]
    [InlineData("--host", "localhost", "--certs", "")]
    [InlineData("--host", "localhost", "--alias", "")]
    [InlineData("--host", "localhost", "--port", "1", "--port")]
    [InlineData("--port", "50051")]
    [InlineData("--host", "localhost", "--port", "http")]
    [InlineData("--host", "localhost", "--verbose")]
    public async Task Wrong_arguments_print_the_usage_and_exit_2(params string[] args)
    {
        var (exitCode, output) = await DoctorAsync(args);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains($"Usage:{Environment.NewLine}  SsePlugin.Host doctor [options]", output);
    }

    private static async Task<(int ExitCode, string Output)> DoctorAsync(params string[] args)
    {
        using var output = new StringWriter();
        var exitCode = await new HostCommandLine().InvokeAsync(["doctor", .. args], output);
        return (exitCode, output.ToString());
    }
}
