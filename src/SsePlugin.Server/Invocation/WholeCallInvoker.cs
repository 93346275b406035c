using Grpc.Core;

namespace SsePlugin.Server.Invocation;

/// <summary>
/// Runs a function that answers once per call: an aggregation, a function over whole columns, or one that returns
/// a table (sent with its table description, for <c>LOAD ... EXTENSION</c>).
/// </summary>
internal sealed class WholeCallInvoker(WholeCallInvoker.Run run, bool streamsRows, WholeCallInvoker.Answer answer) : FunctionInvoker
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
        object?[] data = streamsRows ? [new RowStream(call, null)] : await ReadColumnsAsync(call).ConfigureAwait(false);
        var table = await run(data, call.Context).ConfigureAwait(false);
        if (answer == Answer.Column && table.RowCount != call.RowsRead)
        {
            throw new SseCallException(
                StatusCode.Internal,
                $"{call.Function.Name} answered {table.RowCount} values for {call.RowsRead} rows; "
                + "a function returning a column answers exactly one value per input row.");
        }

        await call.Response.WriteAsync(table.ColumnArray, table.RowCount, answer == Answer.Table ? table : null).ConfigureAwait(false);
    }

    private static async ValueTask<object?[]> ReadColumnsAsync(FunctionCall call)
    {
        var parameters = call.Function.Parameters;
        var builders = new ColumnBuilder[parameters.Count];
        for (var p = 0; p < builders.Length; p++)
        {
            builders[p] = new ColumnBuilder(parameters[p].DataType);
        }

        while (await call.ReadBlockAsync().ConfigureAwait(false) is { } block)
        {
            for (var p = 0; p < builders.Length; p++)
            {
                builders[p].Append(block.ColumnArray[p], block.RowCount);
            }
        }

        var data = new object?[builders.Length];
        for (var p = 0; p < builders.Length; p++)
        {
            data[p] = builders[p].Build();
        }

        return data;
    }

    /// <summary>Gathers one parameter's values over all blocks of a call.</summary>
    private sealed class ColumnBuilder(SseDataType dataType)
    {
        private double[] _numbers = [];
        private string[] _strings = [];
        private int _count;

        public void Append(SseColumn column, int rows)
        {
            var size = _count + rows;
            if (dataType != SseDataType.String)
            {
                Grow(ref _numbers, size);
                Array.Copy(column.NumberArray!, 0, _numbers, _count, rows);
            }

            if (dataType != SseDataType.Numeric)
            {
                Grow(ref _strings, size);
                Array.Copy(column.StringArray!, 0, _strings, _count, rows);
            }

            _count = size;
        }

        public object Build()
        {
            switch (dataType)
            {
                case SseDataType.Numeric:
                    Array.Resize(ref _numbers, _count);
                    return _numbers;
                case SseDataType.String:
                    Array.Resize(ref _strings, _count);
                    return _strings;
                default:
                    var duals = new SseDual[_count];
                    for (var i = 0; i < duals.Length; i++)
                    {
                        duals[i] = new SseDual(_numbers[i], _strings[i]);
                    }

                    return duals;
            }
        }

        private static void Grow<T>(ref T[] array, int size)
        {
            if (size > array.Length)
            {
                Array.Resize(ref array, Math.Max(size, array.Length * 2));
            }
        }
    }
}
