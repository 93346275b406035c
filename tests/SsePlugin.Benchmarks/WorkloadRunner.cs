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
        new(static (_, _) => throw new NotSupportedException(), static context => AnswerTally.Read(context.PayloadAsReadOnlySequence()));

    private static readonly Dictionary<string, Method<byte[], AnswerTally>> Methods = new[] { "ExecuteFunction", "EvaluateScript" }
        .ToDictionary(name => name, name => new Method<byte[], AnswerTally>(MethodType.DuplexStreaming, "qlik.sse.Connector", name, PassThrough, Tally));

    /// <summary>Starts a fresh server process, warms it up, measures, reads its peak RSS and kills it.</summary>
    /// <param name="workload">The workload.</param>
    /// <param name="server">The server.</param>
    /// <param name="maxWarmUp">How long the warm-up may go on while the server's compiler is still busy.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    /// <returns>The figures, or the error when the server failed or answered wrongly.</returns>
    public static async Task<WorkloadResult> RunAsync(Workload workload, ServerUnderTest server, TimeSpan maxWarmUp, CancellationToken cancellationToken)
    {
        ServerProcess? process = null;
        try
        {
            process = await ServerProcess.StartAsync(server, cancellationToken);
            var invoker = process.Channel.CreateCallInvoker();
            var startRssMb = process.RssMb();
            var warmUp = await WarmUpAsync(process, invoker, workload.WarmUp, maxWarmUp, cancellationToken);
            var (serverCpu, clientCpu) = (process.CpuTime, Environment.CpuUsage.TotalTime);
            var (latencies, elapsed) = await RunPhaseAsync(invoker, workload.Measured, cancellationToken);
            var cpu = new CpuSeconds((process.CpuTime - serverCpu).TotalSeconds, (Environment.CpuUsage.TotalTime - clientCpu).TotalSeconds);
            return WorkloadResult.From(workload, server.Name, latencies, elapsed, cpu, warmUp, startRssMb, process.PeakRssMb());
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            var exit = process is null ? null : await process.DescribeExitAsync();
            return WorkloadResult.FromError(workload, server.Name, $"{e.GetType().Name}: {e.Message}{(exit is null ? "" : "; " + exit)}");
        }
        finally
        {
            if (process is not null)
            {
                await process.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Runs the warm-up phase, then goes on a second at a time until the server's compiler has been idle for one.
    /// Tiered compilation recompiles hot code in the background for several seconds under load, longer on a busy
    /// small machine; a workload measured before it is done measures the compiler too.
    /// </summary>
    /// <returns>How long the warm-up took.</returns>
    private static async Task<TimeSpan> WarmUpAsync(ServerProcess process, CallInvoker invoker, Phase warmUp, TimeSpan maxWarmUp, CancellationToken cancellationToken)
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
        using var call = invoker.AsyncDuplexStreamingCall(Methods[plan.Rpc], null, new CallOptions(plan.Headers, cancellationToken: cancellationToken));
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
}
