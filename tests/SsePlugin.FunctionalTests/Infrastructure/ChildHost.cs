using System.Text.RegularExpressions;
using Grpc.Net.Client;
using SsePlugin.Client;
using SsePlugin.Host;

using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests.Infrastructure;

/// <summary>
/// The host executable in a process of its own, serving the examples and the functions folder's plugin. Tests that
/// measure what the host keeps in memory use it: in the test process the client's own buffers would be counted too.
/// </summary>
public sealed partial class ChildHost : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private ChildHost(ChildProcess process, string address)
    {
        _process = process;
        Address = address;
        Client = new SseClient(new Uri(address));
    }

    /// <summary>Gets the address the host listens on.</summary>
    public string Address { get; }

    /// <summary>Gets the host's process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Gets the lines the host has written to standard output so far.</summary>
    public IReadOnlyCollection<string> Output => _process.OutputLines;

    /// <summary>Gets a channel to the host.</summary>
    public GrpcChannel Channel => Client.Channel;

    /// <summary>Gets a client of the host, on <see cref="Channel"/>.</summary>
    internal SseClient Client { get; }

    /// <summary>Starts the host on a free loopback port and waits until it listens.</summary>
    public static Task<ChildHost> StartAsync(params string[] args) =>
        StartAsync(new Dictionary<string, string>(), args);

    /// <summary>Starts the host with more environment variables, e.g. .NET runtime settings.</summary>
    public static async Task<ChildHost> StartAsync(
        IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var process = ChildProcess.Start(
            "dotnet",
            [
                typeof(SsePluginHost).Assembly.Location, "--port", "0", "--examples", "true", "--functions-folder",
                Path.Combine(AppContext.BaseDirectory, "plugins"), .. args],
            environment: environment);
        try
        {
            var listening = await process.WaitForLineAsync(ListeningOn(), CallTimeout);
            return new ChildHost(process, listening.Groups[1].Value);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until the host has written a line that ends with the given text.</summary>
    /// <returns>The line.</returns>
    public async Task<string> WaitForLineAsync(string ending) =>
        (await _process.WaitForLineAsync(new Regex($".*{Regex.Escape(ending)}$"), CallTimeout)).Value;

    /// <summary>Measures, inside the host, its managed heap after a full collection, in bytes.</summary>
    public async Task<long> SettledMemoryAsync() =>
        (long)(await Client.ExecuteAsync(502, Bundle([Numeric(0)]))).Numbers().Single();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _process.DisposeAsync();
    }

    /// <summary>Stops the host as an administrator does (SIGTERM, like Ctrl+C) and waits until it exits.</summary>
    /// <returns>The host's exit code.</returns>
    public Task<int> TerminateAsync() => _process.TerminateAsync(CallTimeout);

    /// <summary>Sends the host a signal, e.g. <c>TERM</c> or <c>INT</c> (Ctrl+C).</summary>
    public Task SignalAsync(string signal) => _process.SignalAsync(signal);

    /// <summary>Waits until the host exits (at most <see cref="SseCalls.CallTimeout"/>).</summary>
    /// <returns>The host's exit code.</returns>
    public Task<int> WaitForExitAsync() => _process.WaitForExitAsync(CallTimeout);

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningOn();
}
