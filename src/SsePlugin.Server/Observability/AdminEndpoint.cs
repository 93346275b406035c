using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SsePlugin.Server.Hosting;
using SsePlugin.Server.Security;

namespace SsePlugin.Server.Observability;

/// <summary>
/// The admin endpoint: HTTP/1.1 on a port of its own (<c>SsePlugin:Admin</c>), serving <c>/metrics</c>
/// (Prometheus), <c>/healthz</c>, <c>/readyz</c>, <c>/api/status</c> and the status page. It lives in the server
/// library, beside the Qlik port it reports on, so that an app hosting SSE in library mode gets it too. Its
/// endpoints answer only on its own port; with a token configured every request must send it, and with the main
/// connection's certificate folder the port is TLS-only, requiring a client certificate from the same root.
/// </summary>
internal static class AdminEndpoint
{
    /// <summary>The realm a browser names when it asks for the token.</summary>
    private const string Realm = "SsePlugin admin (any user name, the token as password)";

    /// <summary>Makes Kestrel listen for the admin endpoint, after the analytic connections.</summary>
    /// <param name="kestrel">Kestrel's options.</param>
    /// <param name="options">The SSE server's settings.</param>
    /// <param name="certificates">The main connection's certificate folder, if it has one.</param>
    public static void Listen(KestrelServerOptions kestrel, SsePluginOptions options, CertificateFolder? certificates)
    {
        var admin = options.Admin;
        kestrel.Listen(IPAddress.Parse(admin.Bind), admin.Port, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            if (certificates is not null)
            {
                listen.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificate = certificates.Certificate,
                    ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                    ClientCertificateValidation = (certificate, _, _) => certificates.CheckPeer(certificate) is null,
                });
            }

            listen.Use(next => context =>
            {
                context.Items[typeof(AdminEndpoint)] = true;
                return next(context);
            });
        });
    }

    /// <summary>Maps the admin endpoint's routes, if it is enabled.</summary>
    /// <param name="endpoints">The app's endpoints.</param>
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<SsePluginOptions>>().Value;
        if (!options.Admin.Enabled)
        {
            return;
        }

        var token = string.IsNullOrEmpty(options.Admin.Token) ? null : Encoding.UTF8.GetBytes(options.Admin.Token);
        var status = ActivatorUtilities.CreateInstance<StatusReporter>(endpoints.ServiceProvider);
        IEndpointConventionBuilder[] routes =
        [
            endpoints.MapPrometheusScrapingEndpoint("/metrics"),
            endpoints.Map("/healthz", StatusReporter.WriteLivenessAsync),
            endpoints.Map("/readyz", status.WriteReadinessAsync),
            endpoints.Map("/api/status", status.WriteStatusAsync),
            endpoints.Map("/{file?}", StatusPage.WriteAsync),
        ];
        foreach (var route in routes)
        {
            route.Add(endpoint =>
            {
                // Behind an app's own routes of the same path: those win on every port.
                if (endpoint is RouteEndpointBuilder routed)
                {
                    routed.Order = 1;
                }

                var handler = endpoint.RequestDelegate!;
                endpoint.RequestDelegate = context => Guard(context, token) is { } refusal
                    ? refusal
                    : handler(context);
            });
        }
    }

    // Null when the request may go on; else the answer that refuses it.
    private static Task? Guard(HttpContext context, byte[]? token)
    {
        if (context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(typeof(AdminEndpoint)) != true)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        if (token is null || Presented(context.Request.Headers.Authorization.ToString(), token))
        {
            return null;
        }

        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.Append("WWW-Authenticate", $"Basic realm=\"{Realm}\", charset=\"UTF-8\"");
        context.Response.Headers.Append("WWW-Authenticate", "Bearer");
        return context.Response.WriteAsync(
            "This admin endpoint requires its token (SsePlugin:Admin:Token): send it as 'Authorization: Bearer "
            + "<token>', or as the password of basic authentication, which a browser asks for.\n");
    }

    // Whether the Authorization header carries the token, as a bearer token or a basic password; compared in
    // constant time, so that the time an answer takes tells nothing of the token.
    private static bool Presented(string authorization, byte[] token)
    {
        const string Bearer = "Bearer ";
        const string Basic = "Basic ";
        byte[] presented;
        if (authorization.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            presented = Encoding.UTF8.GetBytes(authorization[Bearer.Length..].Trim());
        }
        else if (authorization.StartsWith(Basic, StringComparison.OrdinalIgnoreCase)
            && TryDecode(authorization[Basic.Length..].Trim()) is { } credentials
            && credentials.IndexOf(':', StringComparison.Ordinal) is var colon and >= 0)
        {
            presented = Encoding.UTF8.GetBytes(credentials[(colon + 1)..]);
        }
        else
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(presented, token);
    }

    private static string? TryDecode(string base64)
    {
        var bytes = new byte[base64.Length];
        return Convert.TryFromBase64String(base64, bytes, out var length)
            ? Encoding.UTF8.GetString(bytes, 0, length)
            : null;
    }
}
