namespace SsePlugin.Benchmarks;

/// <summary>
/// A run of calls: <paramref name="Callers"/> concurrent loops, each making calls of <paramref name="Plan"/> until it
/// has made <paramref name="Calls"/> of them or <paramref name="Duration"/> has passed.
/// </summary>
/// <param name="Plan">The call made.</param>
/// <param name="Callers">The concurrent callers.</param>
/// <param name="Calls">The calls each caller makes at most.</param>
/// <param name="Duration">How long callers go on making calls; infinite for a fixed number of calls.</param>
internal sealed record Phase(CallPlan Plan, int Callers, int Calls, TimeSpan Duration)
{
    /// <summary>
    /// Gets a value indicating whether the phase runs for a time (reported in calls/s) rather than a number of calls
    /// (rows/s).
    /// </summary>
    public bool IsTimed => Duration != Timeout.InfiniteTimeSpan;

    /// <summary>Gets the unit throughput is reported in.</summary>
    public string Unit => IsTimed ? "calls/s" : "rows/s";

    /// <summary>
    /// The phase cut into slices to run in turn with other servers: a call each (for every caller), or a second each.
    /// </summary>
    public IEnumerable<Phase> Slices()
    {
        if (!IsTimed)
        {
            return Enumerable.Repeat(this with { Calls = 1 }, Calls);
        }

        var second = TimeSpan.FromSeconds(1);
        return Enumerable.Repeat(this with { Duration = second }, Math.Max(1, (int)Math.Ceiling(Duration / second)));
    }

    /// <summary>One caller making <paramref name="calls"/> calls, one after the other.</summary>
    public static Phase Repeated(CallPlan plan, int calls) => new(plan, 1, calls, Timeout.InfiniteTimeSpan);

    /// <summary><paramref name="callers"/> callers making calls for <paramref name="duration"/>.</summary>
    public static Phase Timed(CallPlan plan, int callers, TimeSpan duration) =>
        new(plan, callers, int.MaxValue, duration);
}

/// <summary>
/// One workload, run against each server in a fresh process: a warm-up phase, then the measured phase.
/// </summary>
/// <param name="Name">The name shown in the results.</param>
/// <param name="WarmUp">Calls made first and not measured.</param>
/// <param name="Measured">The calls measured.</param>
internal sealed record Workload(string Name, Phase WarmUp, Phase Measured)
{
    /// <summary>Gets the least SsePlugin/plain throughput ratio targeted, if any.</summary>
    public double? MinRatio { get; init; }

    /// <summary>Gets the SsePlugin host's targeted peak RSS ceiling in MB, if any.</summary>
    public double? MaxPeakRssMb { get; init; }

    /// <summary>Gets the SsePlugin host's targeted throughput, if any.</summary>
    public double? MinThroughput { get; init; }

    /// <summary>
    /// Gets the workload of the same run whose throughput this one's should reach, if any: the same work done another
    /// way (JavaScript against R).
    /// </summary>
    public Workload? AtLeastAsFastAs { get; init; }

    /// <summary>Gets the SsePlugin server the workload measures.</summary>
    public ServerUnderTest Server { get; init; } = ServerUnderTest.SsePlugin;

    /// <summary>
    /// Gets the server run side by side with <see cref="Server"/>, which the ratio compares against: the plain server,
    /// another set-up of SsePlugin, or none where the plain server has no counterpart (scripts).
    /// </summary>
    public ServerUnderTest? Compared { get; init; } = ServerUnderTest.Plain;

    /// <summary>Gets the servers the workload runs on.</summary>
    public IReadOnlyList<ServerUnderTest> Servers => Compared is { } compared ? [Server, compared] : [Server];
}
