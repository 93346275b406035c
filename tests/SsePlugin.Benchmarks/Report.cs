using System.Globalization;
using System.Text;

namespace SsePlugin.Benchmarks;

/// <summary>
/// Renders the results as Markdown: the figures per workload and server, then SsePlugin/plain against the targets.
/// </summary>
internal static class Report
{
    /// <summary>
    /// Renders <paramref name="results"/>: per workload, its server's result and that of the server it is compared
    /// with, if any.
    /// </summary>
    public static string Render(string title, IReadOnlyList<string> notes, IReadOnlyList<WorkloadResult> results)
    {
        var text = new StringBuilder();
        Line(text, $"# {title}");
        Line(text);
        foreach (var note in notes)
        {
            Line(text, $"- {note}");
        }

        Line(text);
        Line(
            text,
            "| workload | server | throughput (median) | best | p50 ms | p99 ms | calls | CPU s server / client | "
            + "warm-up s | RSS MB at start | peak RSS MB |");
        Line(text, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in results)
        {
            Line(text, r.Failed
                ? $"| {r.Workload.Name} | {r.Server} | **FAILED**: {r.Error!.ReplaceLineEndings(" ")} | | | | | | | | |"
                : $"| {r.Workload.Name} | {r.Server} | {r.Throughput:N0} {r.Unit} | {r.BestThroughput:N0} "
                    + $"| {r.P50Ms:N2} | {r.P99Ms:N2} | {r.Calls:N0} | {r.Cpu.Server:N2} / {r.Cpu.Client:N2} "
                    + $"| {r.WarmUp.TotalSeconds:N1} | {Mb(r.StartRssMb)} | {Mb(r.PeakRssMb)} |");
        }

        Line(text);
        Line(text, "| SsePlugin / compared (plain unless named) | SsePlugin | compared | ratio | target | |");
        Line(text, "| --- | ---: | ---: | ---: | --- | --- |");
        foreach (var workload in results.Select(r => r.Workload).Distinct())
        {
            var host = results.Single(r => r.Workload == workload && r.Server == workload.Server.Name);
            if (workload.MinThroughput is { } minThroughput)
            {
                Line(text, host.Failed
                    ? $"| {workload.Name}, {host.Unit} | | | | ≥ {minThroughput:N0} | FAILED |"
                    : $"| {workload.Name}, {host.Unit} | {host.Throughput:N0} | n/a | | ≥ {minThroughput:N0} "
                        + $"| {Verdict(minThroughput, host.Throughput >= minThroughput)} |");
            }

            if (results.FirstOrDefault(r => r.Workload == workload.AtLeastAsFastAs) is { } rival)
            {
                var against = $"{workload.Name}, against {rival.Workload.Name}";
                var speed = host.Throughput / rival.Throughput;
                Line(text, host.Failed || rival.Failed
                    ? $"| {against}, {host.Unit} | | | | ≥ 1.0× | FAILED |"
                    : $"| {against}, {host.Unit} | {host.Throughput:N0} | {rival.Throughput:N0} | {speed:0.00}× "
                        + $"| ≥ 1.0× | {Verdict(1, speed >= 1)} |");
            }

            var compared = results.SingleOrDefault(r => r.Workload == workload && r.Server == workload.Compared?.Name);
            if (compared is not { } plain)
            {
                continue;
            }

            var name = plain.Server == ServerUnderTest.Plain.Name
                ? workload.Name
                : $"{workload.Name}, against {plain.Server}";
            var failed = host.Failed || plain.Failed;
            var ratio = host.Throughput / plain.Throughput;
            Line(text, failed
                ? $"| {name}, {host.Unit} | | | | {Target(workload.MinRatio, "≥ {0:0.0#}×")} | FAILED |"
                : $"| {name}, {host.Unit} | {host.Throughput:N0} | {plain.Throughput:N0} | {ratio:0.00}× "
                    + $"| {Target(workload.MinRatio, "≥ {0:0.0#}×")} "
                    + $"| {Verdict(workload.MinRatio, ratio >= workload.MinRatio)} |");

            if (workload.MaxPeakRssMb is { } maxRss)
            {
                Line(text, failed
                    ? $"| {name}, peak RSS MB | | | | < {maxRss:0} MB (SsePlugin) | FAILED |"
                    : $"| {name}, peak RSS MB | {Mb(host.PeakRssMb)} | {Mb(plain.PeakRssMb)} "
                        + $"| {host.PeakRssMb / plain.PeakRssMb:0.00}× | < {maxRss:0} MB (SsePlugin) "
                        + $"| {Verdict(maxRss, host.PeakRssMb < maxRss)} |");
            }
        }

        return text.ToString();
    }

    private static string Mb(double? mb) =>
        mb is { } value ? value.ToString("N1", CultureInfo.InvariantCulture) : "n/a";

    private static string Target(double? target, string format) =>
        target is { } value ? string.Format(CultureInfo.InvariantCulture, format, value) : "";

    private static string Verdict(double? target, bool met) => target is null ? "" : met ? "met" : "**not met**";

    // The tool runs with invariant globalization, so interpolated numbers are formatted the invariant way.
    private static void Line(StringBuilder text, string line = "") => text.Append(line).Append('\n');
}
