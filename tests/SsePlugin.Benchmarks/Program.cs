using System.Globalization;
using System.Runtime.InteropServices;
using SsePlugin.Benchmarks;

// Plays Qlik's engine against SsePlugin.Host and a plain Grpc.AspNetCore server; see README.md.
// Usage: dotnet run -c Release --project tests/SsePlugin.Benchmarks [-- --quick] [--out FILE] [--only TEXT (workloads
// whose name holds it)]
var quick = false;
string? outFile = null;
string? only = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--quick":
            quick = true;
            break;
        case "--out" when i + 1 < args.Length:
            outFile = args[++i];
            break;
        case "--only" when i + 1 < args.Length:
            only = args[++i];
            break;
        default:
            Console.Error.WriteLine(
                $"Unknown argument {args[i]}. Usage: SsePlugin.Benchmarks [--quick] [--out FILE] [--only TEXT]");
            return 2;
    }
}

var tensorRows = quick ? 100_000 : 1_000_000;
var bigTensorRows = quick ? 1_000_000 : 10_000_000;
var aggregationRows = quick ? 100_000 : 1_000_000;
const int WarmUpRows = 100_000;
var bigWarmUpTime = TimeSpan.FromSeconds(quick ? 2 : 3);
var smallCallTime = TimeSpan.FromSeconds(quick ? 2 : 10);
var smallWarmUpTime = TimeSpan.FromSeconds(quick ? 0.5 : 1);
// After its set time, a full run's warm-up goes on until the server's tiered compiler is idle, this long at most.
var maxWarmUp = quick ? TimeSpan.Zero : TimeSpan.FromSeconds(40);
// A 1M-row call now and then meets a full garbage collection of the heap; 15 calls keep the median clear of them.
// A 10M-row call spans several, so 5 of those suffice.
const int Repeats = 15;
const int BigRepeats = 5;

// Other work on the machine skews the figures; the load average at the start is reported with them.
var loadAverage = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";
Console.WriteLine("Serializing the request messages...");
var twoColumns = RequestBundles.Build(2, bigTensorRows);
var oneColumn = RequestBundles.Build(1, aggregationRows);
var oneRow = CallPlan.SumOfRows(1);

// The first calls run partly unoptimized code (tiered JIT) in a heap still growing: a single warm-up call leaves the
// next 1M-row calls 2-3x slower than the steady state, so every workload warms up with repeated calls, in a full run
// until the background compiler is done.
Workload Big(string name, CallPlan warmUp, CallPlan measured) =>
    new(
        name, Phase.Timed(warmUp, 1, bigWarmUpTime),
        Phase.Repeated(measured, measured.Rows > 1_000_000 ? BigRepeats : Repeats));
Workload Small(int callers) => OneRowCalls("SumOfRows", oneRow, callers);
Workload OneRowCalls(string name, CallPlan plan, int callers) => new(
    $"{name} 1-row calls, {callers} caller{(callers == 1 ? "" : "s")}",
    Phase.Timed(plan, callers, smallWarmUpTime),
    Phase.Timed(plan, callers, smallCallTime));
var oneRowR = CallPlan.ScriptEval(1, null, "q$a + q$b");
// Under 1 s end to end for 1M rows.
var rScriptEval = Big(
    $"R ScriptEval('q$a + q$b') {Size(tensorRows)} rows", CallPlan.ScriptEval(WarmUpRows, twoColumns, "q$a + q$b"),
    CallPlan.ScriptEval(tensorRows, twoColumns, "q$a + q$b"))
    with { Compared = null, MinThroughput = 1_000_000, Server = ServerUnderTest.SsePluginR };
const string PythonAdd = "numpy.add(args[0], args[1])";
const string RoundScript = "Math.round(args[0] * 100) / 100 + (args[1] > 0 ? 1 : 0)";
// The rows' a are multiples of 0.5: no row rounds a half, where .NET's Math.Round and JavaScript's differ.
static double RoundAnswer(double a, double b) => Math.Round(a * 100) / 100 + (b > 0 ? 1 : 0);
// CallPlan.ScriptEval names its parameters a and b.
const string MapScript = "q => q.a.map((x, i) => x + q.b[i])";
var oneRowPython = CallPlan.ScriptEval(1, null, PythonAdd);

Workload[] workloads =
[
    Big(
        $"tensor SumOfRows {Size(tensorRows)} rows", CallPlan.SumOfRows(WarmUpRows, twoColumns),
        CallPlan.SumOfRows(tensorRows, twoColumns)) with { MinRatio = 2.5 },
    Big(
        $"tensor SumOfRows {Size(bigTensorRows)} rows", CallPlan.SumOfRows(WarmUpRows, twoColumns),
        CallPlan.SumOfRows(bigTensorRows, twoColumns)) with { MaxPeakRssMb = 100 },
    Big(
        $"aggregation SumOfColumn {Size(aggregationRows)} rows", CallPlan.SumOfColumn(WarmUpRows, oneColumn),
        CallPlan.SumOfColumn(aggregationRows, oneColumn)) with { MinRatio = 2 },
    Small(1),
    Small(16) with { MinRatio = 1.0 },
    // What metrics cost: the same host with SsePlugin:Metrics:Enabled false, side by side; at most 3% of 1-row calls.
    OneRowCalls("SumOfRows, metrics on vs off,", oneRow, 16)
        with { Compared = ServerUnderTest.SsePluginMetricsOff, MinRatio = 0.97 },
    Big(
        $"tensor SumOfRows {Size(tensorRows)} rows, metrics on vs off", CallPlan.SumOfRows(WarmUpRows, twoColumns),
        CallPlan.SumOfRows(tensorRows, twoColumns)) with { Compared = ServerUnderTest.SsePluginMetricsOff },
    // At least R's speed on the same rows in the same run.
    Big(
        $"script ScriptEval('args[0] + args[1]') {Size(tensorRows)} rows",
        CallPlan.ScriptEval(WarmUpRows, twoColumns, "args[0] + args[1]"),
        CallPlan.ScriptEval(tensorRows, twoColumns, "args[0] + args[1]"))
        with { Compared = null, MinThroughput = 2_000_000, AtLeastAsFastAs = rScriptEval },
    // Beyond plain arithmetic: a row-wise script with Math and a comparison, and a whole-column script, both compiled.
    Big(
        $"script ScriptEval('{RoundScript}') {Size(tensorRows)} rows",
        CallPlan.ScriptEval(WarmUpRows, twoColumns, RoundScript, RoundAnswer),
        CallPlan.ScriptEval(tensorRows, twoColumns, RoundScript, RoundAnswer)) with { Compared = null },
    Big(
        $"script ScriptEval('{MapScript}') {Size(tensorRows)} rows",
        CallPlan.ScriptEval(WarmUpRows, twoColumns, MapScript),
        CallPlan.ScriptEval(tensorRows, twoColumns, MapScript)) with { Compared = null },
    rScriptEval,
    // What running each call in an R process of its own costs, against R sessions reused from call to call.
    OneRowCalls("R ScriptEval('q$a + q$b')", oneRowR, 1)
        with { Server = ServerUnderTest.SsePluginR, Compared = ServerUnderTest.SsePluginRReused },
    OneRowCalls("R ScriptEval('q$a + q$b')", oneRowR, 4)
        with { Server = ServerUnderTest.SsePluginR, Compared = ServerUnderTest.SsePluginRReused },
    // Python beside JavaScript and R: the same rows and sums, numpy over the raw float64 columns.
    Big(
        $"Python ScriptEval('{PythonAdd}') {Size(tensorRows)} rows",
        CallPlan.ScriptEval(WarmUpRows, twoColumns, PythonAdd),
        CallPlan.ScriptEval(tensorRows, twoColumns, PythonAdd))
        with { Compared = null, MinThroughput = 5_000_000, Server = ServerUnderTest.SsePluginPython },
    // The cost of a call's fresh process, forked from the worker that imported numpy and pandas.
    OneRowCalls($"Python ScriptEval('{PythonAdd}')", oneRowPython, 1)
        with { Server = ServerUnderTest.SsePluginPython, Compared = null },
];

// Ctrl+C and SIGTERM stop the run; the running server is killed on the way out.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
{
    signal.Cancel = true;
    cancel.Cancel();
});

var results = new List<WorkloadResult>();
try
{
    foreach (
        var workload in workloads.Where(w => only is null || w.Name.Contains(only, StringComparison.OrdinalIgnoreCase)))
    {
        Console.WriteLine($"{workload.Name} on {string.Join(" and ", workload.Servers.Select(s => s.Name))}...");
        foreach (var result in await WorkloadRunner.RunAsync(workload, workload.Servers, maxWarmUp, cancel.Token))
        {
            Console.WriteLine(result.Failed
                ? $"  {result.Server}: FAILED: {result.Error}"
                : FormattableString.Invariant($"  {result.Server}: {result.Throughput:N0} {result.Unit}, ")
                    + FormattableString.Invariant($"p50 {result.P50Ms:N2} ms, peak RSS {result.PeakRssMb:N1} MB"));
            results.Add(result);
        }
    }
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    Console.Error.WriteLine("Cancelled.");
    return 130;
}

string[] notes =
[
    $"{(quick ? "Quick run: reduced sizes; the targets are meant for the full run's sizes." : "Full run.")} "
        + $"{DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC, "
        + $"{Environment.ProcessorCount} cores, load average {loadAverage} at the start, .NET {Environment.Version}; "
        + "the client shares the machine with the server.",
    "SsePlugin is SsePlugin.Host started with `--Serilog:MinimumLevel:Default Warning` (no per-call log lines); plain "
        + "is tests/SsePlugin.Benchmarks.PlainServer (Grpc.AspNetCore, generated stubs, logging at Warning). Both: "
        + "server GC with dynamic adaptation (DATAS), h2c on loopback, HTTP/2 windows 2 MiB / 1 MiB, 64 MiB max "
        + "message.",
    $"Requests are BundledRows of {RequestBundles.BundleRows} rows serialized once up front and sent through a "
        + "pass-through byte[] marshaller while another task reads the answer; every answer's row count and sum are "
        + "verified.",
    "Each workload starts a fresh process of each server; they are warmed up in turn, then measured in slices that "
        + "alternate between them (a call each, or a second each for 1-row calls), so that load from elsewhere on the "
        + "machine falls on both alike. "
        + "Peak RSS is a server's VmHWM after the warm-up and the measured calls. "
        + "RSS at start is its VmRSS once it answered GetCapabilities. CPU s is the CPU time the server process and "
        + "this tool used during the measured calls.",
    $"Row workloads: at least {bigWarmUpTime.TotalSeconds:0} s of {Size(WarmUpRows)}-row warm-up calls, then "
        + $"{Repeats} calls ({BigRepeats} of more than 1M rows); rows/s per call, median and best. "
        + $"1-row calls: at least {smallWarmUpTime.TotalSeconds:0.#} s warm-up, then calls/s over "
        + $"{smallCallTime.TotalSeconds:0} s. "
        + (quick
            ? "The warm-up is not extended in a quick run. "
            : "Warm-up goes on until the server's tiered-compilation thread has used no CPU for 1 s (at most "
                + $"{maxWarmUp.TotalSeconds:0} s in all): the steady state. ")
        + "All callers share one GrpcChannel (one HTTP/2 connection).",
];
var markdown = Report.Render("SsePlugin benchmark: SsePlugin.Host vs a plain Grpc.AspNetCore server", notes, results);
Console.WriteLine();
Console.WriteLine(markdown);
if (outFile is not null)
{
    await File.WriteAllTextAsync(outFile, markdown);
    Console.WriteLine($"Written to {outFile}.");
}

var failures = results.Count(r => r.Failed);
if (failures > 0)
{
    Console.WriteLine($"FAILED: {failures} workload run(s) crashed or answered wrongly.");
    return 1;
}

return 0;

static string Size(int rows) => rows >= 1_000_000
    ? string.Create(CultureInfo.InvariantCulture, $"{rows / 1_000_000}M")
    : string.Create(CultureInfo.InvariantCulture, $"{rows / 1000}k");
