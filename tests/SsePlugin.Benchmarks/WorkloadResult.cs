namespace SsePlugin.Benchmarks;

/// <summary>The figures of one workload on one server, or why it failed.</summary>
/// <param name="Workload">The workload.</param>
/// <param name="Server">The server's name.</param>
/// <param name="Unit">rows/s or calls/s.</param>
/// <param name="Throughput">The median throughput (for timed phases: calls over the whole phase).</param>
/// <param name="BestThroughput">The best throughput.</param>
/// <param name="P50Ms">The median call latency.</param>
/// <param name="P99Ms">The 99th-percentile call latency.</param>
/// <param name="Calls">The calls measured.</param>
/// <param name="Cpu">The CPU time the server and the client used during the measured calls.</param>
/// <param name="WarmUp">How long the warm-up took.</param>
/// <param name="StartRssMb">The server's resident set once it answered GetCapabilities, before any call.</param>
/// <param name="PeakRssMb">The server's peak resident set, if known.</param>
/// <param name="Error">Why the workload failed; null when it did not.</param>
internal sealed record WorkloadResult(
    Workload Workload,
    string Server,
    string Unit,
    double Throughput,
    double BestThroughput,
    double P50Ms,
    double P99Ms,
    int Calls,
    CpuSeconds Cpu,
    TimeSpan WarmUp,
    double? StartRssMb,
    double? PeakRssMb,
    string? Error)
{
    /// <summary>Gets a value indicating whether the workload failed (a wrong answer, an error or a crash).</summary>
    public bool Failed => Error is not null;

    /// <summary>The figures of a measured phase from its calls' latencies in ms and its wall time.</summary>
    public static WorkloadResult From(
        Workload workload, string server, IReadOnlyList<double> latenciesMs, TimeSpan elapsed, CpuSeconds cpu,
        TimeSpan warmUp, double? startRssMb, double? peakRssMb)
    {
        var sorted = latenciesMs.Order().ToArray();
        var phase = workload.Measured;
        var (unit, throughput, best) = phase.IsTimed
            ? (phase.Unit, sorted.Length / elapsed.TotalSeconds, sorted.Length / elapsed.TotalSeconds)
            : (phase.Unit, phase.Plan.Rows / (Percentile(sorted, 0.5) / 1000), phase.Plan.Rows / (sorted[0] / 1000));
        return new(
            workload, server, unit, throughput, best, Percentile(sorted, 0.5), Percentile(sorted, 0.99), sorted.Length,
            cpu, warmUp, startRssMb, peakRssMb, null);
    }

    /// <summary>A failed workload.</summary>
    public static WorkloadResult FromError(Workload workload, string server, string error) =>
        new(
            workload, server, workload.Measured.Unit, 0, 0, 0, 0, 0, new CpuSeconds(0, 0), TimeSpan.Zero, null, null,
            error);

    // Nearest rank: the smallest value with at least p of the values at or below it.
    private static double Percentile(double[] sorted, double p) =>
        sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1)];
}

/// <summary>CPU time used during a measured phase, in seconds.</summary>
/// <param name="Server">By the server process.</param>
/// <param name="Client">By this tool.</param>
internal sealed record CpuSeconds(double Server, double Client);
