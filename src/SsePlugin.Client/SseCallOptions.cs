namespace SsePlugin.Client;

/// <summary>
/// What Qlik's engine sends with a call besides its rows (the <c>qlik-commonrequestheader-bin</c> header), and how
/// long the client waits.
/// </summary>
public sealed record SseCallOptions
{
    /// <summary>Gets the default timeout: 30 seconds.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Gets the app's id; <c>app</c> by default.</summary>
    public string AppId { get; init; } = "app";

    /// <summary>Gets the user's id; <c>user</c> by default.</summary>
    public string UserId { get; init; } = "user";

    /// <summary>Gets the cardinality Qlik announces; by default the number of rows sent.</summary>
    public long? Cardinality { get; init; }

    /// <summary>
    /// Gets the deadline the call carries (<c>grpc-timeout</c>), which the plugin sees; none by default, as Qlik's
    /// engine sends none.
    /// </summary>
    public TimeSpan? Deadline { get; init; }

    /// <summary>
    /// Gets how long the client waits before it cancels the call, as Qlik's engine does when a user leaves the sheet
    /// (the answer's status is then <c>Cancelled</c>); <see cref="DefaultTimeout"/> by default.
    /// </summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;
}
