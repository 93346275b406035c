
namespace SsePlugin.Server.Invocation;

/// <summary>Runs a function that reads its rows as a stream and streams its answers back.</summary>
internal sealed class StreamingInvoker(StreamingInvoker.Run run) : FunctionInvoker
{
    /// <summary>Calls the function with the row stream and drains its answers into the output.</summary>
    public delegate Task Run(object?[] data, SseCallContext context, RowOutput output);

    public override async Task InvokeAsync(FunctionCall call)
    {
        var output = new RowOutput(call.Function.ReturnType, call.Response);
        await run([new RowStream(call)], call.Context, output).ConfigureAwait(false);
        await output.FlushAsync().ConfigureAwait(false);
        if (call.Response.RowsWritten != call.RowsRead)
        {
            throw new CallFailure(
                CallFailureKind.WrongAnswer,
                $"{call.Function.Name} answered {call.Response.RowsWritten} rows for {call.RowsRead} input rows; "
                + $"a {call.Function.FunctionType.ToString().ToLowerInvariant()} function answers exactly one row "
                + "per input row.");
        }
    }

    /// <summary>Moves every answer of a function's stream into the output, sending bundles as they fill.</summary>
    public static async Task DrainAsync<T>(
        IAsyncEnumerable<T> answers, RowOutput output, Action<RowOutput, T> add, CancellationToken cancellationToken)
    {
        await foreach (var answer in answers.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            add(output, answer);
            await output.FlushIfFullAsync().ConfigureAwait(false);
        }
    }
}
