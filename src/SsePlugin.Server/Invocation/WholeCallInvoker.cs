
namespace SsePlugin.Server.Invocation;

/// <summary>
/// Runs a function that answers once per call: an aggregation, a function over whole columns, or one that returns
/// a table (sent with its table description, for <c>LOAD ... EXTENSION</c>, unless its columns are unnamed).
/// </summary>
internal sealed class WholeCallInvoker(WholeCallInvoker.Run run, bool streamsRows, WholeCallInvoker.Answer answer)
    : FunctionInvoker
{
    /// <summary>Calls the function with its data arguments (whole columns, or the row stream).</summary>
    public delegate ValueTask<SseTable> Run(object?[] data, SseCallContext context);

    /// <summary>What the function answers.</summary>
    public enum Answer
    {
        /// <summary>One value.</summary>
        Value,

        /// <summary>One value per input row.</summary>
        Column,

        /// <summary>A table of any size, described to Qlik.</summary>
        Table,
    }

    public override async Task InvokeAsync(FunctionCall call)
    {
        object?[] data = streamsRows ? [new RowStream(call)] : await ReadColumnsAsync(call).ConfigureAwait(false);
        var table = await run(data, call.Context).ConfigureAwait(false);
        if (answer == Answer.Column && table.RowCount != call.RowsRead)
        {
            throw new CallFailure(
                CallFailureKind.WrongAnswer,
                $"{call.Function.Name} answered {table.RowCount} values for {call.RowsRead} rows; "
                + "a function returning a column answers exactly one value per input row.");
        }

        var description = answer == Answer.Table && table.IsDescribed ? table : null;
        await call.Response.WriteAsync(table.ColumnArray, table.RowCount, description).ConfigureAwait(false);
    }

    private static async ValueTask<object?[]> ReadColumnsAsync(FunctionCall call)
    {
        var table = await call.ReadAllAsync().ConfigureAwait(false);
        var data = new object?[table.ColumnArray.Length];
        for (var p = 0; p < data.Length; p++)
        {
            var column = table.ColumnArray[p];
            data[p] = column.DataType switch
            {
                SseDataType.Numeric => column.NumberArray,
                SseDataType.String => column.StringArray,
                _ => ToDuals(column),
            };
        }

        return data;
    }

    private static SseDual[] ToDuals(SseColumn column)
    {
        var duals = new SseDual[column.Count];
        for (var i = 0; i < duals.Length; i++)
        {
            duals[i] = new SseDual(column.NumberArray![i], column.StringArray![i]!);
        }

        return duals;
    }
}
