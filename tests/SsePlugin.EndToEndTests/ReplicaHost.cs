using System.Globalization;
using System.Text.RegularExpressions;
using SsePlugin.Host;

namespace SsePlugin.EndToEndTests;

/// <summary>
/// One SsePlugin host behind the load balancer: the built host (<c>dotnet SsePlugin.Host.dll</c>) in a process of its
/// own on a free loopback port, serving the example functions and JavaScript, its output read as it comes.
/// </summary>
public sealed partial class ReplicaHost : IAsyncDisposable
{
    /// <summary>How long a replica may take to start, or to stop once told to.</summary>
    public static readonly TimeSpan StartOrStopTimeout = TimeSpan.FromSeconds(60);

    private readonly ChildProcess _process;

    private ReplicaHost(ChildProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>Gets the loopback port the replica listens on.</summary>
    public int Port { get; }

    /// <summary>Gets the replica's address as nginx's upstream names it, <c>127.0.0.1:port</c>.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>Gets whether the replica's process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Gets the lines of the call log written so far: one line per call, answered or failed.</summary>
    public IReadOnlyList<string> CallLines => [.. _process.Lines.Where(line => CallLine().IsMatch(line))];

    /// <summary>Gets how many calls the replica has answered so far (status OK in its call log).</summary>
    public int CallsAnswered => CallLines.Count(line => line.EndsWith(", OK", StringComparison.Ordinal));

    /// <summary>Gets everything the replica has written to standard output and standard error so far.</summary>
    public string Printed => _process.Printed;

    /// <summary>Starts a replica with the given switches (e.g. <c>--certs</c>) and waits until it listens.</summary>
    public static async Task<ReplicaHost> StartAsync(params string[] args)
    {
        var process = ChildProcess.Start(
            "dotnet", [typeof(SsePluginHost).Assembly.Location, "--port", "0", "--examples", "true", .. args]);
        try
        {
            var listening = await process.WaitForLineAsync(ListeningOn(), StartOrStopTimeout);
            return new ReplicaHost(process, int.Parse(listening.Groups[1].Value, CultureInfo.InvariantCulture));
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the replica as a service manager does (SIGTERM) and waits until it has exited.</summary>
    /// <returns>Its exit code.</returns>
    public Task<int> TerminateAsync() => _process.TerminateAsync(StartOrStopTimeout);

    /// <summary>Kills the replica outright (SIGKILL), as a crash would, and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync(StartOrStopTimeout);
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();

    [GeneratedRegex(@"Now listening on: https?://127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningOn();

    // The call log's line for a call: "[12:00:00 INF] ExecuteFunction SumOfRows on main app ... OK".
    [GeneratedRegex(@"^\[\d\d:\d\d:\d\d [A-Z]{3}\] (ExecuteFunction|EvaluateScript) ")]
    private static partial Regex CallLine();
}
