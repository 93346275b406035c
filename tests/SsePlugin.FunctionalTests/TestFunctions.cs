using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Configuration;

namespace SsePlugin.FunctionalTests;

/// <summary>Functions of every supported shape, served next to the examples by the test host.</summary>
public sealed class TestFunctions(IConfiguration configuration)
{
    // The probes tests watch, by the app id their calls send: a test sees its own calls only, never those of a test
    // running in parallel.
    private static readonly ConcurrentDictionary<string, CallProbe> Probes = new();

    private readonly double _increment = configuration.GetValue("TestFunctions:Increment", 1d);

    /// <summary>
    /// Watches the calls of <see cref="WaitForCancellation"/> and <see cref="Tracked"/> that send the probe's
    /// <see cref="CallProbe.AppId"/>: calls of other app ids are not watched.
    /// </summary>
    public static CallProbe Watch()
    {
        var probe = new CallProbe();
        Probes[probe.AppId] = probe;
        return probe;
    }

    [SseFunction(100, SseFunctionType.Tensor)]
    public static SseDual Describe(SseDual value) => new(value.Number * 2, $"<{value.Text}>");

    [SseFunction(101, SseFunctionType.Scalar)]
    public static double RejectNegative(double value) =>
        value switch
        {
            < 0 => throw new InvalidOperationException("negative values are not allowed"),
            > 1e9 => throw new InvalidDataException("the model file is corrupt"),
            _ => value,
        };

    [SseFunction(102, SseFunctionType.Aggregation)]
    public static async Task<double> AverageAsync(double[] values, CancellationToken cancellationToken)
    {
        await Task.Delay(1, cancellationToken);
        return values.Average();
    }

    [SseFunction(103, SseFunctionType.Tensor)]
    [SseParameter("value", SseDataType.Numeric)]
    public static async IAsyncEnumerable<double> RunningTotal(IAsyncEnumerable<SseRow> rows)
    {
        var total = 0d;
        await foreach (var row in rows)
        {
            total += row.Number(0);
            yield return total;
        }
    }

    /// <summary>Echoes each value after a pause, as a function calling a slow service would.</summary>
    [SseFunction(113, SseFunctionType.Tensor)]
    [SseParameter("value", SseDataType.Numeric)]
    public static async IAsyncEnumerable<double> SlowEcho(
        IAsyncEnumerable<SseRow> rows, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var row in rows.WithCancellation(cancellationToken))
        {
            await Task.Delay(300, cancellationToken);
            yield return row.Number(0);
        }
    }

    [SseFunction(104, SseFunctionType.Aggregation)]
    [SseParameter("text", SseDataType.String)]
    public static async ValueTask<string> LongestText(IAsyncEnumerable<SseRow> rows)
    {
        var longest = string.Empty;
        await foreach (var row in rows)
        {
            if (row.Text(0).Length > longest.Length)
            {
                longest = row.Text(0);
            }
        }

        return longest;
    }

    [SseFunction(105, SseFunctionType.Tensor)]
    public static string WhoCalls(string value, SseCallContext context)
    {
        context.DisableCache();
        return $"{context.AppId}|{context.UserId}|{context.Cardinality}|{value}";
    }

    [SseFunction(106, SseFunctionType.Tensor)]
    public static double[] DropFirst(double[] values) => values[1..];

    [SseFunction(107, SseFunctionType.Tensor)]
    public static double[] ShareOfTotal(double[] values)
    {
        var total = values.Sum();
        return values.Select(v => v / total).ToArray();
    }

    /// <summary>Waits for the call's cancellation, telling the call's probe when it started and saw it.</summary>
    [SseFunction(108, SseFunctionType.Aggregation)]
    public static async Task<double> WaitForCancellation(double[] values, SseCallContext context)
    {
        var probe = Probes.GetValueOrDefault(context.AppId);
        probe?.Started.TrySetResult();
        try
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
            return values.Length;
        }
        finally
        {
            probe?.Ended.TrySetResult(context.CancellationToken.IsCancellationRequested);
        }
    }

    [SseFunction(109, SseFunctionType.Tensor)]
    public double AddIncrement(double value) => value + _increment;

    [SseFunction(110, SseFunctionType.Tensor)]
    [SseParameter("value", SseDataType.Numeric)]
    public static async IAsyncEnumerable<double> SkipsRows(
        IAsyncEnumerable<SseRow> rows, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var index = 0;
        await foreach (var row in rows.WithCancellation(cancellationToken))
        {
            if (index++ % 2 == 0)
            {
                yield return row.Number(0);
            }
        }
    }

    [SseFunction(111, SseFunctionType.Tensor)]
    public static SseTable Pivot(string[] names, double[] values) =>
        new(
            new SseColumn("Name", names), new SseColumn("Value", values),
            new SseColumn("Label", values, names) { Tags = ["$numeric"] }) { Name = "Pivoted" };

    /// <summary>Echoes numbers as they stream in, telling the call's probe when it started and ended.</summary>
    [SseFunction(112, SseFunctionType.Tensor)]
    [SseParameter("value", SseDataType.Numeric)]
    public static async IAsyncEnumerable<double> Tracked(IAsyncEnumerable<SseRow> rows, SseCallContext context)
    {
        var probe = Probes.GetValueOrDefault(context.AppId);
        probe?.Started.TrySetResult();
        try
        {
            await foreach (var row in rows.WithCancellation(context.CancellationToken))
            {
                yield return row.Number(0);
            }
        }
        finally
        {
            probe?.Ended.TrySetResult(context.CancellationToken.IsCancellationRequested);
        }
    }
}

/// <summary>
/// What a test sees of its own call of a watched test function (see <see cref="TestFunctions.Watch"/>).
/// </summary>
public sealed class CallProbe
{
    /// <summary>Gets the app id the test's call sends, in its common request header, to be watched.</summary>
    public string AppId { get; } = $"probe-{Guid.NewGuid():N}";

    /// <summary>Gets a task that completes when the function starts.</summary>
    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Gets a task that completes when the function ends: true when its cancellation token had fired.
    /// </summary>
    public TaskCompletionSource<bool> Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
