using System.Diagnostics;
using System.Globalization;
using System.Text;
using Grpc.Core;
using SsePlugin.FunctionalTests.Infrastructure;
using Xunit.Abstractions;
using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests;

/// <summary>
/// The memory one call may hold, a call that runs out of memory, and the memory the host gives back to the machine
/// after large calls. Each test runs the host executable in a process of its own and reads its resident memory
/// (RSS) as the machine sees it; the test's own client, which builds the messages, is not counted.
/// </summary>
public sealed class MemoryTests(ITestOutputHelper output)
{
    private const long Megabyte = 1024 * 1024;

    private const string Quiet = "--Serilog:MinimumLevel:Default";

    private const string OverBudget =
        "the call's rows take more than the 64 MB of memory SsePlugin:MaxCallMemoryMegabytes allows";

    private static readonly (string, SseDataType)[] OneString = [("text", SseDataType.String)];

    public static TheoryData<int, int, int> LargeCalls => new()
    {
        // An aggregation over 300 texts of a million characters: 600 MB held.
        { 1_000_000, 300, 1 },

        // Five aggregations over one text of 60 million characters each: 120 MB held by each.
        { 60_000_000, 1, 5 },
    };

    [Fact]
    public async Task A_call_whose_rows_pass_the_memory_a_call_may_hold_is_resource_exhausted_naming_the_setting()
    {
        await using var host = await ChildHost.StartAsync("--SsePlugin:MaxCallMemoryMegabytes", "64", Quiet, "Warning");
        var raw = host.Channel.CreateCallInvoker();

        // 5 million numbers (40 MB) fit; 10 million (80 MB) do not, nor do 40 texts of a million characters (80 MB).
        var numbers = NumberRows(1_000_000);
        var fits = await raw.SendAsync(
            RawCalls.ExecuteFunction, Headers(6, cardinality: 5_000_000), [.. Enumerable.Repeat(numbers, 5)]);
        Assert.Equal([5_000_000], fits.Numbers());

        var tooMany = await FailsAsync(() => raw.SendAsync(
            RawCalls.ExecuteFunction, Headers(6, cardinality: 10_000_000), [.. Enumerable.Repeat(numbers, 10)]));
        var tooLong = await FailsAsync(() => raw.SendAsync(
            RawCalls.EvaluateScript,
            ScriptHeaders("args[0].length", SseFunctionType.Aggregation, SseDataType.Numeric, OneString),
            [.. Enumerable.Repeat(TextRow(1_000_000), 40)]));

        Assert.Equal(
            (StatusCode.ResourceExhausted, StatusCode.ResourceExhausted), (tooMany.StatusCode, tooLong.StatusCode));
        Assert.StartsWith($"SumOfColumn: {OverBudget}", tooMany.Status.Detail);
        Assert.StartsWith($"ScriptAggrEx: {OverBudget}", tooLong.Status.Detail);
        await host.Client.AssertServesAsync();
    }

    [Fact]
    public async Task A_negative_memory_per_call_stops_the_host_at_start_with_one_clear_line()
    {
        var (exitCode, printed) = await HostProcess.RunToExitAsync(
            "--port", "0", "--SsePlugin:MaxCallMemoryMegabytes", "-1");

        Assert.Equal(2, exitCode);
        Assert.Contains("SsePlugin:MaxCallMemoryMegabytes must be 0 (no limit) or more.", printed);
        Assert.DoesNotContain("Now listening", printed);
    }

    [Fact]
    public async Task A_call_that_runs_the_host_out_of_memory_is_resource_exhausted_and_the_host_serves_on()
    {
        // The heap is capped at 256 MB, as HeapHardLimitPercent caps it on a large machine; the call's 300 MB of texts
        // are within the memory a call may hold, so the heap runs out while the rows are decoded.
        await using var host = await ChildHost.StartAsync(
            new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x10000000" }, Quiet, "Warning");

        var error = await FailsAsync(() => host.Channel.CreateCallInvoker().SendAsync(
            RawCalls.ExecuteFunction, Headers(1), [.. Enumerable.Repeat(TextRow(1_000_000), 150)]));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.StartsWith(
            "HelloWorldAggr: the host ran out of memory during the call; its heap is capped at 256 MB.",
            error.Status.Detail);
        await host.Client.AssertServesAsync();
    }

    [Theory]
    [MemberData(nameof(LargeCalls))]
    public async Task After_large_calls_the_host_gives_their_memory_back(int textLength, int messages, int calls)
    {
        await using var host = await ChildHost.StartAsync(Quiet, "Warning");
        var raw = host.Channel.CreateCallInvoker();
        var headers = ScriptHeaders("args[0].length", SseFunctionType.Aggregation, SseDataType.Numeric, OneString);
        await raw.SendAsync(RawCalls.EvaluateScript, headers, TextRow(1000));
        var baseline = Rss(host.ProcessId);

        var peak = baseline;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, Rss(host.ProcessId));
                await Task.Delay(20);
            }
        });
        var text = TextRow(textLength);
        for (var call = 0; call < calls; call++)
        {
            var answer = await raw.SendAsync(RawCalls.EvaluateScript, headers, [.. Enumerable.Repeat(text, messages)]);
            Assert.Equal([messages], answer.Numbers());
        }

        await sampling.CancelAsync();
        await sampler;

        // The host gives memory back a second after the calls; 30 s leave a loaded machine a generous margin.
        var waited = Stopwatch.StartNew();
        var now = Rss(host.ProcessId);
        while (now > baseline + (200 * Megabyte) && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(250);
            now = Rss(host.ProcessId);
        }

        var figures = $"{baseline / Megabyte} MB before the calls, {peak / Megabyte} MB at their peak, "
            + $"{now / Megabyte} MB {waited.Elapsed.TotalSeconds:0.0} s after them";
        output.WriteLine($"RSS: {figures}");
        Assert.True(now <= baseline + (200 * Megabyte), $"The host kept too much: {figures}.");
        await host.Client.AssertServesAsync();
    }

    /// <summary>A <c>BundledRows</c> of one text of the given length.</summary>
    private static byte[] TextRow(int length) => RawCalls.TextRows(Encoding.UTF8.GetBytes(new string('x', length)));

    /// <summary>A <c>BundledRows</c> of rows of one number, 1 each.</summary>
    private static byte[] NumberRows(int rows)
    {
        byte[] row = [.. RawCalls.Field(1, RawCalls.Field(1, [0x09, .. BitConverter.GetBytes(1d)]))];
        var message = new byte[row.Length * rows];
        for (var i = 0; i < rows; i++)
        {
            row.CopyTo(message, i * row.Length);
        }

        return message;
    }

    /// <summary>The resident memory of a process, as the machine counts it.</summary>
    private static long Rss(int processId)
    {
        var line = File.ReadLines($"/proc/{processId}/status")
            .First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }
}
