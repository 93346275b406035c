using System.Net;
using Microsoft.Extensions.Options;
using SsePlugin.Server.Hosting;

namespace SsePlugin.Server.Observability;

/// <summary>The host's metrics, <c>SsePlugin:Metrics</c>.</summary>
public sealed class MetricsOptions
{
    /// <summary>
    /// Gets or sets whether calls are measured: the <c>SsePlugin</c> meter, the runtime's, Kestrel's and
    /// grpc-dotnet's meters, and the status page's charts. Default true.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Gets or sets where metrics are also sent over OTLP (gRPC), e.g. <c>http://collector:4317</c>; read by the
    /// console host. Default none: only the admin endpoint's <c>/metrics</c>.
    /// </summary>
    public Uri? OtlpEndpoint { get; set; }
}

/// <summary>The admin endpoint, <c>SsePlugin:Admin</c>: metrics, health, the status API and page over HTTP/1.1.
/// </summary>
public sealed class AdminOptions
{
    /// <summary>Gets or sets whether the admin endpoint listens. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Gets or sets its port. Default 50050; 0 for any free port.</summary>
    public int Port { get; set; } = 50050;

    /// <summary>
    /// Gets or sets the address it listens on. Default 127.0.0.1 (this machine only). Beyond loopback it requires
    /// <see cref="Token"/> or a client certificate (the main connection's <c>Certs</c>).
    /// </summary>
    public string Bind { get; set; } = "127.0.0.1";

    /// <summary>
    /// Gets or sets the token every request must send (<c>Authorization: Bearer &lt;token&gt;</c>, or as the password
    /// of basic authentication, which a browser asks for once). Default none: required only beyond loopback.
    /// </summary>
    public string? Token { get; set; }
}

/// <summary>Checks <see cref="SsePluginOptions.Admin"/>: its port and address, and the token rule.</summary>
internal sealed class AdminOptionsValidator : IValidateOptions<SsePluginOptions>
{
    private const string Admin = $"{SsePluginOptions.Section}:{nameof(SsePluginOptions.Admin)}";

    public ValidateOptionsResult Validate(string? name, SsePluginOptions options)
    {
        var admin = options.Admin;
        if (!admin.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        if (admin.Port is < 0 or > 65535)
        {
            return ValidateOptionsResult.Fail(
                $"{Admin}:Port (--admin-port) must be from 0 (any free port) to 65535; it is {admin.Port}.");
        }

        if (!IPAddress.TryParse(admin.Bind, out var address))
        {
            return ValidateOptionsResult.Fail(
                $"{Admin}:Bind (--admin-bind) must be an IP address of this machine, e.g. 127.0.0.1 or 0.0.0.0; "
                + $"it is '{admin.Bind}'.");
        }

        return IPAddress.IsLoopback(address) || !string.IsNullOrEmpty(admin.Token)
            || !string.IsNullOrWhiteSpace(options.Certs)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"The admin endpoint would listen on {admin.Bind} (--admin-bind) with no token and no client "
                + "certificates: anyone who reaches it could read the host's metrics and errors. "
                + $"Fix: set {Admin}:Token to a secret of your own, give the host --certs for client certificates, "
                + $"bind it to 127.0.0.1, or turn it off ({Admin}:Enabled false).");
    }
}
