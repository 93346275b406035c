using System.CommandLine;
using SsePlugin.Host.Security;
using SsePlugin.Server.Security;

namespace SsePlugin.Host.Commands;

/// <summary><c>certs generate</c>: writes the certificates for mutual TLS between Qlik and SsePlugin, in the two
/// folders and with the file names Qlik expects.</summary>
internal static class CertsCommand
{
    private const string GenerateDescription = """
        Makes a root, a server and a client certificate for mutual TLS between Qlik and SsePlugin, without OpenSSL:
          DIR/plugin  root_cert.pem, sse_server_cert.pem, sse_server_key.pem: stays with SsePlugin (--certs DIR/plugin)
          DIR/qlik    root_cert.pem, sse_client_cert.pem, sse_client_key.pem: goes to the Qlik server
        """;

    private const string QlikFolderUse = "goes to the Qlik server: copy the folder there and give its path as the "
        + "analytic connection's certificate folder";

    private const string Renewal =
        "The root's private key is not kept: to renew, run this again with --force and copy both folders anew.";

    /// <summary>Creates the <c>certs</c> command and its <c>generate</c>.</summary>
    public static Command Create()
    {
        var directory = HostCommandLine.TextOption("--out", "DIR", "the folder to write plugin/ and qlik/ into");
        directory.Required = true;
        var hosts = new Option<string[]>("--host")
        {
            HelpName = "NAME",
            Description = "a host name or IP address Qlik uses to reach the plugin; repeat for several "
                + "(default: localhost, 127.0.0.1 and this machine's name)",
        };
        hosts.Validators.Add(result =>
        {
            if (result.Tokens.FirstOrDefault(t => Uri.CheckHostName(t.Value) == UriHostNameType.Unknown) is { } wrong)
            {
                result.AddError($"--host {wrong.Value} is neither a host name nor an IP address.");
            }
        });
        var days = HostCommandLine.NumberOption(
            "--days", "N", "how long the server and client certificates are valid", CertificateGenerator.DefaultDays, 1,
            36500);
        var force = HostCommandLine.SwitchOption("--force", "replace existing files");
        var generate = new Command("generate", GenerateDescription) { directory, hosts, days, force };
        generate.SetAction((parsed, _) => GenerateAsync(
            Path.GetFullPath(parsed.GetRequiredValue(directory)),
            parsed.GetValue(hosts) is { Length: > 0 } given ? given : CertificateGenerator.DefaultHosts,
            parsed.GetValue(days),
            parsed.GetValue(force),
            parsed.InvocationConfiguration.Output));
        return new Command("certs", "Makes the certificates for mutual TLS: certs generate --out DIR (see its --help).")
        {
            generate,
        };
    }

    private static async Task<int> GenerateAsync(
        string directory, IReadOnlyList<string> hosts, int days, bool force, TextWriter output)
    {
        DateTimeOffset expires;
        try
        {
            expires = CertificateGenerator.Generate(directory, hosts, days, force);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await output.WriteLineAsync(e.Message).ConfigureAwait(false);
            return ExitCodes.Problem;
        }

        var plugin = Path.Combine(directory, CertificateSide.Plugin.Folder);
        var qlik = Path.Combine(directory, CertificateSide.Qlik.Folder);
        var names = string.Join(", ", hosts);
        var doctor = $"SsePlugin.Host doctor --host {hosts[0]} --port 50051 --certs <that folder>";
        await output.WriteLineAsync($"""
            Made a root, a server certificate for {names} and a client certificate, valid until {expires:yyyy-MM-dd}.
              {plugin}: {string.Join(", ", CertificateSide.Plugin.Files)}
                stays with SsePlugin: start it with --certs {plugin}
              {qlik}: {string.Join(", ", CertificateSide.Qlik.Files)}
                {QlikFolderUse}
            Check the connection from the Qlik server with: {doctor}
            Keep the key files private. {Renewal}
            """).ConfigureAwait(false);
        return ExitCodes.Ok;
    }
}
