using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;

namespace SsePlugin.Benchmarks;

/// <summary>Runs a workload against a server the way Qlik's engine calls it, verifying every answer.</summary>
internal static class WorkloadRunner
{
    // Requests are sent as prepared bytes and answers read as bytes: the client serializes nothing.
    private static readonly Marshaller<byte[]> PassThrough = Marshallers.Create(static b => b, static b => b);

    // Answers are tallied where they arrive, without a copy per message.
    private static readonly Marshaller<AnswerTally> Tally =
        new(
            static (_, _) => throw new NotSupportedException(),
            static context => AnswerTally.Read(context.PayloadAsReadOnlySequence()));

    private static readonly Dictionary<string, Method<byte[], AnswerTally>> Methods =
        new[] { "ExecuteFunction", "EvaluateScript" }.ToDictionary(
            name => name,
            name => new Method<byte[], AnswerTally>(
                MethodType.DuplexStreaming, "qlik.sse.Connector", name, PassThrough, Tally));

    /// <summary>
    /// Runs a workload against servers side by side: each in a fresh process, warmed up in turn, then measured in
    /// slices that alternate between them (a call each, or a second each), so that the load other tenants put on a
    /// shared machine falls on all of them alike. Reads each one's peak RSS, then kills them.
    /// </summary>
    /// <param name="workload">The workload.</param>
    /// <param name="servers">The servers.</param>
    /// <param name="maxWarmUp">How long a warm-up may go on while the server's compiler is still busy.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    /// <returns>Each server's figures, or the error when it failed or answered wrongly.</returns>
    public static async Task<IReadOnlyList<WorkloadResult>> RunAsync(
        Workload workload,
        IReadOnlyList<ServerUnderTest> servers,
        TimeSpan maxWarmUp,
        CancellationToken cancellationToken)
    {
        var runs = servers.Select(server => new ServerRun(workload, server, cancellationToken)).ToArray();
        try
        {
            foreach (var run in runs)
            {
                await run.TryAsync(async process =>
                {
                    run.StartRssMb = process.RssMb();
                    run.WarmUp = await WarmUpAsync(
                        process, run.Invoker!, workload.WarmUp, maxWarmUp, cancellationToken);
                });
            }

            // The first round is not measured: it wakes each server after the others' warm-ups. The order turns every
            // round, so that the work a server leaves behind after its slice (a background GC, say) falls as often on
            // the slice of the one before it as on that of the one after.
            var slices = workload.Measured.Slices().ToArray();
            for (var round = -1; round < slices.Length; round++)
            {
                foreach (var run in round % 2 == 0 ? runs : Enumerable.Reverse(runs))
                {
                    var slice = slices[Math.Max(round, 0)];
                    await run.TryAsync(async process =>
                    {
                        var (serverCpu, clientCpu) = (process.CpuTime, Environment.CpuUsage.TotalTime);
                        var (latencies, elapsed) = await RunPhaseAsync(run.Invoker!, slice, cancellationToken);
                        if (round >= 0)
                        {
                            run.Add(
                                latencies, elapsed, process.CpuTime - serverCpu,
                                Environment.CpuUsage.TotalTime - clientCpu);
                        }
                    });
                }
            }

            var results = new List<WorkloadResult>();
            foreach (var run in runs)
            {
                results.Add(await run.ResultAsync());
            }

            return results;
        }
        finally
        {
            foreach (var run in runs)
            {
                await run.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Runs the warm-up phase, then goes on a second at a time until the server's compiler has been idle for one.
    /// Tiered compilation recompiles hot code in the background for several seconds under load, longer on a busy
    /// small machine; a workload measured before it is done measures the compiler too.
    /// </summary>
    /// <returns>How long the warm-up took.</returns>
    private static async Task<TimeSpan> WarmUpAsync(
        ServerProcess process, CallInvoker invoker, Phase warmUp, TimeSpan maxWarmUp,
        CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        await RunPhaseAsync(invoker, warmUp, cancellationToken);
        var round = warmUp with { Duration = TimeSpan.FromSeconds(1) };
        while (clock.Elapsed < maxWarmUp && process.CompilerCpuTime is { } before)
        {
            await RunPhaseAsync(invoker, round, cancellationToken);
            if (process.CompilerCpuTime == before)
            {
                break;
            }
        }

        return clock.Elapsed;
    }

    private static async Task<(IReadOnlyList<double> LatenciesMs, TimeSpan Elapsed)> RunPhaseAsync(
        CallInvoker invoker, Phase phase, CancellationToken cancellationToken)
    {
        var latencies = new ConcurrentQueue<double>();
        var clock = Stopwatch.StartNew();

        async Task CallerAsync()
        {
            for (var i = 0; i < phase.Calls && (!phase.IsTimed || clock.Elapsed < phase.Duration); i++)
            {
                latencies.Enqueue(await CallAsync(invoker, phase.Plan, cancellationToken));
            }
        }

        await Task.WhenAll(Enumerable.Range(0, phase.Callers).Select(_ => Task.Run(CallerAsync, cancellationToken)));
        return ([.. latencies], clock.Elapsed);
    }

    /// <summary>One ExecuteFunction call: one task writes the requests while this one reads the answer.</summary>
    /// <returns>The call's latency in ms, from its start to the end of the answer.</returns>
    private static async Task<double> CallAsync(CallInvoker invoker, CallPlan plan, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var call = invoker.AsyncDuplexStreamingCall(
            Methods[plan.Rpc], null, new CallOptions(plan.Headers, cancellationToken: cancellationToken));
        var sending = Task.Run(() => SendAsync(call.RequestStream, plan.Bundles), cancellationToken);
        var answer = new AnswerTally();
        try
        {
            await foreach (var message in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                answer.Add(message);
            }
        }
        catch
        {
            // The answer's error is the one to report; cancel the call so that the sender stops too.
            call.Dispose();
            await sending.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            throw;
        }

        await sending;
        var latency = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        plan.Check(answer);
        return latency;
    }

    private static async Task SendAsync(IClientStreamWriter<byte[]> requests, IReadOnlyList<byte[]> bundles)
    {
        foreach (var bundle in bundles)
        {
            await requests.WriteAsync(bundle);
        }

        await requests.CompleteAsync();
    }

    /// <summary>One server's part in a workload: its process, and its figures as the slices add up.</summary>
    private sealed class ServerRun(
        Workload workload, ServerUnderTest server, CancellationToken cancellationToken) : IAsyncDisposable
    {
        private readonly List<double> _latencies = [];
        private ServerProcess? _process;
        private TimeSpan _elapsed;
        private TimeSpan _serverCpu;
        private TimeSpan _clientCpu;
        private string? _error;

        public CallInvoker? Invoker { get; private set; }

        public double? StartRssMb { get; set; }

        public TimeSpan WarmUp { get; set; }

        /// <summary>
        /// Runs a step against the server (starting it first if need be), unless an earlier step failed; a failure is
        /// kept for the result.
        /// </summary>
        public async Task TryAsync(Func<ServerProcess, Task> step)
        {
            if (_error is not null)
            {
                return;
            }

            try
            {
                if (_process is null)
                {
                    _process = await ServerProcess.StartAsync(server, cancellationToken);
                    Invoker = _process.Channel.CreateCallInvoker();
                }

                await step(_process);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                var exit = _process is null ? null : await _process.DescribeExitAsync();
                _error = $"{e.GetType().Name}: {e.Message}{(exit is null ? "" : "; " + exit)}";
                // Gone at once, so that it does not weigh on the other servers' measurements.
                await DisposeAsync();
            }
        }

        public void Add(IReadOnlyList<double> latencies, TimeSpan elapsed, TimeSpan serverCpu, TimeSpan clientCpu)
        {
            _latencies.AddRange(latencies);
            _elapsed += elapsed;
            _serverCpu += serverCpu;
            _clientCpu += clientCpu;
        }

        public async Task<WorkloadResult> ResultAsync()
        {
            double? peakRssMb = null;
            await TryAsync(process =>
            {
                peakRssMb = process.PeakRssMb();
                return Task.CompletedTask;
            });
            return _error is not null
                ? WorkloadResult.FromError(workload, server.Name, _error)
                : WorkloadResult.From(
                    workload, server.Name, _latencies, _elapsed,
                    new CpuSeconds(_serverCpu.TotalSeconds, _clientCpu.TotalSeconds), WarmUp, StartRssMb, peakRssMb);
        }

        public async ValueTask DisposeAsync()
        {
            if (_process is not null)
            {
                await _process.DisposeAsync();
                _process = null;
            }
        }
    }
}
