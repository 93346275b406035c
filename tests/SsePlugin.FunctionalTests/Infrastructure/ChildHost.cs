using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
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
    private readonly Process _process;

    private ChildHost(Process process, string address, IReadOnlyCollection<string> output)
    {
        _process = process;
        Output = output;
        Address = address;
        Client = new SseClient(new Uri(address));
    }

    /// <summary>Gets the address the host listens on.</summary>
    public string Address { get; }

    /// <summary>Gets the host's process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Gets the lines the host has written to standard output so far.</summary>
    public IReadOnlyCollection<string> Output { get; }

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
        var start = new ProcessStartInfo(
            "dotnet",
            [
                typeof(SsePluginHost).Assembly.Location, "--port", "0", "--examples", "true", "--functions-folder",
                Path.Combine(AppContext.BaseDirectory, "plugins"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;

        // The output is drained for as long as the host runs, or its log lines would fill the pipe and stall it.
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            output.Enqueue(e.Data);
            if (ListeningOn().Match(e.Data) is { Success: true } match)
            {
                listening.TrySetResult(match.Groups[1].Value);
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var exited = process.WaitForExitAsync();
            if (await Task.WhenAny(listening.Task, exited).WaitAsync(CallTimeout) == exited)
            {
                throw new InvalidOperationException(
                    $"The host exited with code {process.ExitCode} before it listened.");
            }

            return new ChildHost(process, await listening.Task, output);
        }
        catch
        {
            Stop(process);
            process.Dispose();
            throw;
        }
    }

    /// <summary>Waits until the host has written a line to standard output that ends with the given text.</summary>
    /// <returns>The line.</returns>
    public async Task<string> WaitForLineAsync(string ending)
    {
        var stopAt = DateTime.UtcNow + CallTimeout;
        while (true)
        {
            if (Output.FirstOrDefault(line => line.EndsWith(ending, StringComparison.Ordinal)) is { } found)
            {
                return found;
            }

            Assert.True(
                DateTime.UtcNow < stopAt,
                $"The host wrote no line ending in '{ending}'. It wrote:\n{string.Join('\n', Output)}");
            await Task.Delay(50);
        }
    }

    /// <summary>Measures, inside the host, its managed heap after a full collection, in bytes.</summary>
    public async Task<long> SettledMemoryAsync() =>
        (long)(await Client.ExecuteAsync(502, Bundle([Numeric(0)]))).Numbers().Single();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Stop(_process);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    /// <summary>Stops the host as an administrator does (SIGTERM, like Ctrl+C) and waits until it exits.</summary>
    /// <returns>The host's exit code.</returns>
    public async Task<int> TerminateAsync()
    {
        await SignalAsync("TERM");
        return await WaitForExitAsync();
    }

    /// <summary>Sends the host a signal, e.g. <c>TERM</c> or <c>INT</c> (Ctrl+C).</summary>
    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString(CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
    }

    /// <summary>Waits until the host exits (at most <see cref="SseCalls.CallTimeout"/>).</summary>
    /// <returns>The host's exit code.</returns>
    public async Task<int> WaitForExitAsync()
    {
        await _process.WaitForExitAsync().WaitAsync(CallTimeout);
        return _process.ExitCode;
    }

    private static void Stop(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningOn();
}
