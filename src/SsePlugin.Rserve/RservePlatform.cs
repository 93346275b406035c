namespace SsePlugin.Rserve;

/// <summary>
/// The operating system an Rserve runs R on, as R names it (<c>.Platform$OS.type</c>): on <c>unix</c> (Linux, macOS)
/// Rserve forks an R process of its own for each connection; on <c>windows</c> it cannot, and serves its connections
/// one after another in one R process.
/// </summary>
public static class RservePlatform
{
    /// <summary>The name R gives Windows.</summary>
    public const string Windows = "windows";

    /// <summary>Asks R on a connection which operating system it runs on.</summary>
    /// <param name="connection">An open connection.</param>
    /// <param name="cancellationToken">Cancels the question.</param>
    /// <returns><c>unix</c> or <c>windows</c>.</returns>
    /// <exception cref="RserveException">R did not answer with a name.</exception>
    public static async Task<string> ReadAsync(
        RserveConnection connection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var answer = await connection.EvalAsync(".Platform$OS.type", cancellationToken).ConfigureAwait(false);
        return answer is RStringVector { Length: 1 } type && type.Values[0] is { } name
            ? name
            : throw new RserveException("R did not name its operating system (.Platform$OS.type).");
    }

    /// <summary>Gets whether Rserve forks an R process for each connection on the given system.</summary>
    /// <param name="osType">R's name of the system, as <see cref="ReadAsync"/> returns it.</param>
    /// <returns>False on Windows, true elsewhere.</returns>
    public static bool Forks(string osType) => !string.Equals(osType, Windows, StringComparison.Ordinal);
}
