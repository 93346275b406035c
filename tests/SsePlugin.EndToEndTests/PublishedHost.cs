using System.Globalization;
using System.Text.RegularExpressions;

namespace SsePlugin.EndToEndTests;

/// <summary>A published host running as a process of its own: the port it listens on, what it printed, its stop.
/// </summary>
internal sealed partial class PublishedHost : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly ChildProcess _process;

    private PublishedHost(ChildProcess process) => _process = process;

    /// <summary>Gets everything the host printed so far, standard output and standard error.</summary>
    public string Printed => _process.Printed;

    /// <summary>Starts a program, which is or becomes (exec) the host.</summary>
    public static PublishedHost Start(string program, params string[] args) =>
        new(ChildProcess.Start(program, args, Path.GetTempPath()));

    /// <summary>Waits until the host listens.</summary>
    /// <returns>Its port, from its line <c>Now listening on: http://127.0.0.1:PORT</c>.</returns>
    public async Task<int> ListeningAsync() => int.Parse(
        (await _process.WaitForLineAsync(Listening(), Patience)).Groups["port"].Value, CultureInfo.InvariantCulture);

    /// <summary>Stops the host by its process id with SIGTERM, as systemd does.</summary>
    /// <returns>Its exit code.</returns>
    public Task<int> StopAsync() => _process.TerminateAsync(Patience);

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _process.DisposeAsync();

    [GeneratedRegex(@"Now listening on: http://127\.0\.0\.1:(?<port>\d+)")]
    private static partial Regex Listening();
}
