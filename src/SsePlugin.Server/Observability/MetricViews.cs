using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;

namespace SsePlugin.Server.Observability;

/// <summary>
/// How OpenTelemetry keeps the meters the host collects. It sets aside every instrument's series up front, 2,000 by
/// default (about 190 KB each, 7 MB over the 39 instruments), where ours need one per function and status and the
/// runtime's and Kestrel's a few; and it drops Kestrel's count of queued HTTP/2 streams, recorded twice per call.
/// </summary>
internal static class MetricViews
{
    /// <summary>The runtime's meter.</summary>
    public const string Runtime = "System.Runtime";

    /// <summary>Kestrel's meter.</summary>
    public const string Kestrel = "Microsoft.AspNetCore.Server.Kestrel";

    /// <summary>The series kept of an instrument of ours labelled by function: rpc, connection, function (and
    /// status); past them, calls are counted in one series labelled <c>otel_metric_overflow</c>.</summary>
    public const int PerFunctionSeries = 1000;

    /// <summary>The series kept of every other instrument: a few states, endpoints or GC generations.</summary>
    public const int FewSeries = 100;

    // Streams of HTTP/2 requests waiting to start: counted in and out at every call, and always near 0 for Qlik's.
    private const string QueuedRequests = "kestrel.queued_requests";

    /// <summary>The view of an instrument; null (OpenTelemetry's default) for the meters of an app's own.</summary>
    /// <param name="instrument">The instrument.</param>
    public static MetricStreamConfiguration? Of(Instrument instrument) => instrument.Meter.Name switch
    {
        SseMeter.Name => new()
        {
            CardinalityLimit = SseMeter.IsPerFunction(instrument) ? PerFunctionSeries : FewSeries,
        },
        Kestrel when instrument.Name == QueuedRequests => MetricStreamConfiguration.Drop,
        Kestrel or Runtime => new() { CardinalityLimit = FewSeries },
        _ => null,
    };
}
