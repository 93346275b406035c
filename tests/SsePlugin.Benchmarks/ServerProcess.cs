using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Qlik.Sse;

namespace SsePlugin.Benchmarks;

/// <summary>
/// A server running as a child process on a free loopback port, with one <see cref="GrpcChannel"/> (one HTTP/2
/// connection) to it. Disposing it kills the whole process tree.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private const int OutputLinesKept = 30;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private ServerProcess(Process process, GrpcChannel channel)
    {
        _process = process;
        Channel = channel;
    }

    /// <summary>Gets the channel to the server.</summary>
    public GrpcChannel Channel { get; }

    /// <summary>
    /// Starts <paramref name="server"/> and waits until it answers <c>GetCapabilities</c> with functions 5 and 6.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(ServerUnderTest server, CancellationToken cancellationToken)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(server.Dll);
        start.ArgumentList.Add("--port");
        start.ArgumentList.Add(port.ToString(CultureInfo.InvariantCulture));
        foreach (var argument in server.Arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start };
        var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = false,
                InitialHttp2StreamWindowSize = 8 * 1024 * 1024,
            },
        });
        var running = new ServerProcess(process, channel);
        process.OutputDataReceived += (_, e) => running.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => running.Keep(e.Data);
        try
        {
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            await running.WaitUntilReadyAsync(server, cancellationToken);
            return running;
        }
        catch
        {
            await running.DisposeAsync();
            throw;
        }
    }

    /// <summary>The server's peak resident set (VmHWM) so far, in MB; null where /proc is not available.</summary>
    public double? PeakRssMb() => StatusMb("VmHWM:");

    /// <summary>The server's resident set (VmRSS) now, in MB; null where /proc is not available.</summary>
    public double? RssMb() => StatusMb("VmRSS:");

    /// <summary>Gets the CPU time the server has used so far.</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>
    /// Gets the CPU time the runtime's tiered-compilation thread has used so far, which recompiles hot code in the
    /// background; null where /proc is not available.
    /// </summary>
    public TimeSpan? CompilerCpuTime
    {
        get
        {
            var tasks = $"/proc/{_process.Id}/task";
            if (!Directory.Exists(tasks))
            {
                return null;
            }

            long ticks = 0;
            foreach (var task in Directory.EnumerateDirectories(tasks))
            {
                try
                {
                    // Linux keeps 15 characters of ".NET Tiered Compilation Worker".
                    if (
                        File.ReadAllText(Path.Combine(task, "comm")).StartsWith(
                            ".NET Tiered", StringComparison.Ordinal))
                    {
                        // utime and stime are the 14th and 15th fields; the name before them may hold spaces.
                        var stat = File.ReadAllText(Path.Combine(task, "stat"));
                        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                        ticks += long.Parse(
                            fields[11],
                            CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                    }
                }
                catch (IOException)
                {
                    // The thread ended meanwhile.
                }
            }

            // Linux reports them in clock ticks of 1/100 s.
            return TimeSpan.FromMilliseconds(ticks * 10);
        }
    }

    /// <summary>
    /// Waits a moment for the process to end and describes how it ended; null if it is still running.
    /// </summary>
    public async Task<string?> DescribeExitAsync()
    {
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        await _process.WaitForExitAsync(wait.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return DescribeExit();
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }

        _process.Dispose();
    }

    private string? DescribeExit() =>
        _process.HasExited
            ? $"the server exited with code {_process.ExitCode}; its last output:{Environment.NewLine}  "
                + string.Join(Environment.NewLine + "  ", _output)
            : null;

    // A memory figure from /proc/<pid>/status, given there in kB.
    private double? StatusMb(string field)
    {
        var status = $"/proc/{_process.Id}/status";
        if (!File.Exists(status))
        {
            return null;
        }

        var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
        return line is null ? null : long.Parse(
            line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024d;
    }

    /// <summary>A loopback port free at the moment.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > OutputLinesKept && _output.TryDequeue(out _))
        {
        }
    }

    private async Task WaitUntilReadyAsync(ServerUnderTest server, CancellationToken cancellationToken)
    {
        var client = new Connector.ConnectorClient(Channel);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (DescribeExit() is { } exit)
            {
                throw new InvalidOperationException($"{server.Name} did not start: {exit}");
            }

            try
            {
                var capabilities = await client.GetCapabilitiesAsync(
                    new Empty(), deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: cancellationToken);
                CheckFunctions(server, capabilities);
                return;
            }
            catch (RpcException e) when (
                e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded
                && deadline.Elapsed < StartTimeout)
            {
                await Task.Delay(100, cancellationToken);
            }
        }
    }

    private static void CheckFunctions(ServerUnderTest server, Capabilities capabilities)
    {
        bool Has(int id, FunctionType type, int parameters) =>
            capabilities.Functions.Any(
                f => f.FunctionId == id && f.FunctionType == type && f.Params.Count == parameters);

        if (!Has(5, FunctionType.Tensor, 2) || !Has(6, FunctionType.Aggregation, 1))
        {
            throw new InvalidOperationException(
                $"{server.Name} does not offer SumOfRows (5, tensor, 2 parameters) and SumOfColumn (6, aggregation, "
                + $"1 parameter): {capabilities}");
        }
    }
}
