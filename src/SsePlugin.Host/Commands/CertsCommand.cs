using SsePlugin.Host.Security;

namespace SsePlugin.Host.Commands;

/// <summary><c>certs generate</c>: writes the certificates for mutual TLS between Qlik and SsePlugin, in the two folders and with the file names Qlik expects.</summary>
public static class CertsCommand
{
    /// <summary>How the command is called.</summary>
    public const string Usage = """
        Usage: SsePlugin.Host certs generate --out DIR [--host NAME]... [--days N] [--force]

        Makes a root, a server and a client certificate for mutual TLS between Qlik and SsePlugin, without OpenSSL:
          DIR/plugin  root_cert.pem, sse_server_cert.pem, sse_server_key.pem: stays with SsePlugin (--certs DIR/plugin)
          DIR/qlik    root_cert.pem, sse_client_cert.pem, sse_client_key.pem: goes to the Qlik server
        Options:
          --host NAME  a host name or IP address Qlik uses to reach the plugin; repeat for several
                       (default: localhost, 127.0.0.1 and this machine's name)
          --days N     how long the server and client certificates are valid (default 825)
          --force      replace existing files
        """;

    /// <summary>Runs the command.</summary>
    /// <param name="args">The arguments after <c>certs</c>.</param>
    /// <param name="output">Where to print.</param>
    /// <returns><see cref="ExitCodes.Ok"/>, <see cref="ExitCodes.Problem"/> when the files cannot be written, <see cref="ExitCodes.Usage"/>.</returns>
    public static Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        return args is ["generate", ..]
            ? CommandLine.RunAsync([.. args.Skip(1)], Usage, ["--out", "--host", "--days"], ["--force"], output, line => GenerateAsync(line, output))
            : CommandLine.RunAsync(args, Usage, [], [], output, _ => throw new UsageException("The certs command is: certs generate."));
    }

    private static async Task<int> GenerateAsync(CommandLine line, TextWriter output)
    {
        var directory = Path.GetFullPath(line.Required("--out"));
        var hosts = line.All("--host") is { Count: > 0 } given ? given : CertificateGenerator.DefaultHosts;
        if (hosts.FirstOrDefault(h => Uri.CheckHostName(h) == UriHostNameType.Unknown) is { } wrong)
        {
            throw new UsageException($"--host {wrong} is neither a host name nor an IP address.");
        }

        var days = line.Number("--days", CertificateGenerator.DefaultDays, 1, 36500);
        DateTimeOffset expires;
        try
        {
            expires = CertificateGenerator.Generate(directory, hosts, days, line.Has("--force"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await output.WriteLineAsync(e.Message).ConfigureAwait(false);
            return ExitCodes.Problem;
        }

        var plugin = Path.Combine(directory, CertificateSide.Plugin.Folder);
        var qlik = Path.Combine(directory, CertificateSide.Qlik.Folder);
        await output.WriteLineAsync($"""
            Made a root, a server certificate for {string.Join(", ", hosts)} and a client certificate, valid until {expires:yyyy-MM-dd}.
              {plugin}: {string.Join(", ", CertificateSide.Plugin.Files)}
                stays with SsePlugin: start it with --certs {plugin}
              {qlik}: {string.Join(", ", CertificateSide.Qlik.Files)}
                goes to the Qlik server: copy the folder there and give its path as the analytic connection's certificate folder
            Check the connection from the Qlik server with: SsePlugin.Host doctor --host {hosts[0]} --port 50051 --certs <that folder>
            Keep the key files private. The root's private key is not kept: to renew, run this again with --force and copy both folders anew.
            """).ConfigureAwait(false);
        return ExitCodes.Ok;
    }
}
