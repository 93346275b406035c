namespace SsePlugin.Rserve;

/// <summary>Where and how <see cref="RserveConnection.ConnectAsync"/> reaches Rserve.</summary>
public sealed class RserveConnectionOptions
{
    /// <summary>Gets or sets the host name or address; <c>127.0.0.1</c> by default.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>Gets or sets the TCP port; 6311 (Rserve's default) by default.</summary>
    public int Port { get; set; } = 6311;

    /// <summary>
    /// Gets or sets the path of the Unix domain socket Rserve listens on; when set, <see cref="Host"/> and
    /// <see cref="Port"/> are not used. None (TCP) by default.
    /// </summary>
    public string? SocketPath { get; set; }

    /// <summary>Gets or sets the user name for a server that requires authentication; none by default.</summary>
    public string? User { get; set; }

    /// <summary>Gets or sets the password that goes with <see cref="User"/>; none by default.</summary>
    public string? Password { get; set; }

    /// <summary>
    /// Gets or sets how long connecting, the greeting and the login may take together; 10 seconds by default.
    /// </summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
