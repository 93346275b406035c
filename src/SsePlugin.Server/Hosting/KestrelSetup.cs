using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using SsePlugin.Server.Observability;
using SsePlugin.Server.Security;

namespace SsePlugin.Server.Hosting;

/// <summary>
/// Makes Kestrel serve every analytic connection: HTTP/2 on the connection's address and port, TLS-only with its
/// certificates when it has a certificate folder, and the limits Qlik's calls need. Kestrel asks for it as it starts,
/// so a connection setting, a function declaration or a certificate folder that is wrong stops the app before any
/// port opens, and a certificate folder never falls back to plaintext.
/// </summary>
/// <param name="connections">The analytic connections, built and checked when first resolved.</param>
/// <param name="sse">The SSE server's settings, for the admin endpoint.</param>
internal sealed class KestrelSetup(ConnectionRegistry connections, IOptions<SsePluginOptions> sse)
    : IConfigureOptions<KestrelServerOptions>
{
    /// <summary>The most request header bytes a call may send: Qlik sends a script in a header.</summary>
    public const int MaxRequestHeadersBytes = 256 * 1024;

    /// <inheritdoc/>
    public void Configure(KestrelServerOptions options)
    {
        // Loaded before any endpoint is set up, so that every folder is checked before a port opens.
        var certificates = connections.All
            .Where(connection => !string.IsNullOrWhiteSpace(connection.Options.Certs))
            .ToDictionary(connection => connection, connection => CertificateFolder.Load(connection.Options.Certs!));
        foreach (var connection in connections.All)
        {
            options.Listen(IPAddress.Parse(connection.Options.Bind), connection.Options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                certificates.GetValueOrDefault(connection)?.UseFor(listen);
                listen.UseAnalyticConnection(connection);
            });
        }

        // Last, so that Kestrel lists the connections' addresses first, in their order.
        if (sse.Value.Admin.Enabled)
        {
            AdminEndpoint.Listen(options, sse.Value, certificates.GetValueOrDefault(connections.Main));
        }

        // Flow-control windows a little above Kestrel's defaults keep Qlik's bundles streaming without waiting
        // for window updates, while bounding what a fast sender can make the host buffer.
        options.Limits.Http2.InitialConnectionWindowSize = 2 * 1024 * 1024;
        options.Limits.Http2.InitialStreamWindowSize = 1024 * 1024;

        // Qlik sends a script in a header (qlik-scriptrequestheader-bin, base64): 256 KB of headers take a script
        // of about 190 KB. Headers up to twice that fail their own call with status 431 (the one header field may
        // be that long); longer ones end the connection, Kestrel's guard against header floods.
        options.Limits.MaxRequestHeadersTotalSize = MaxRequestHeadersBytes;
        options.Limits.Http2.MaxRequestHeaderFieldSize = 2 * MaxRequestHeadersBytes;

        // Qlik reads no "server" header; leaving it out tells a caller nothing of the software and saves encoding it.
        options.AddServerHeader = false;
    }
}
