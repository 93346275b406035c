using Grpc.Core;
using SsePlugin.Server.Wire;

namespace SsePlugin.Server.Invocation;

/// <summary>One call of a function: its request rows, checked against the declared parameters, and its answer.</summary>
internal sealed class FunctionCall(
    SseFunction function,
    IAsyncStreamReader<RequestBlock> requests,
    ResponseWriter response,
    SseCallContext context)
{
    // Presizing trusts the header only this far (8 MB a numeric column); larger calls grow as rows arrive.
    private const int MaxPresizedRows = 1024 * 1024;

    /// <summary>Gets the function being called.</summary>
    public SseFunction Function { get; } = function;

    /// <summary>Gets the answer.</summary>
    public ResponseWriter Response { get; } = response;

    /// <summary>Gets what the function may learn about the call.</summary>
    public SseCallContext Context { get; } = context;

    /// <summary>Gets the number of rows read so far.</summary>
    public long RowsRead { get; private set; }

    /// <summary>Reads the next block of rows that holds any, checked against the declared parameters.</summary>
    /// <returns>The rows, or <see langword="null"/> when Qlik has sent them all.</returns>
    public async ValueTask<SseTable?> ReadBlockAsync()
    {
        while (await requests.MoveNext(Context.CancellationToken).ConfigureAwait(false))
        {
            var block = requests.Current;
            if (block.Table.RowCount == 0)
            {
                continue;
            }

            Check(block);
            RowsRead += block.Table.RowCount;
            return block.Table;
        }

        return null;
    }

    /// <summary>Reads the next block like <see cref="ReadBlockAsync()"/>, sending <paramref name="pending"/> answers first if it would wait.</summary>
    /// <remarks>Answers go out in large bundles while Qlik keeps rows coming, and without delay when it pauses.</remarks>
    public async ValueTask<SseTable?> ReadBlockAsync(RowOutput pending)
    {
        var next = ReadBlockAsync();
        if (!next.IsCompleted)
        {
            await pending.FlushAsync().ConfigureAwait(false);
        }

        return await next.ConfigureAwait(false);
    }

    /// <summary>Reads every remaining row into one exact-length column per parameter, named and typed after it.</summary>
    /// <param name="first">A block already read with <see cref="ReadBlockAsync()"/>, to put first.</param>
    public async ValueTask<SseTable> ReadAllAsync(SseTable? first = null)
    {
        var parameters = Function.Parameters;
        // The announced cardinality sizes the columns; it is only a hint, capped against a bogus header.
        var expectedRows = (int)Math.Clamp(Context.Cardinality, 0, MaxPresizedRows);
        var builders = new ColumnBuilder[parameters.Count];
        for (var p = 0; p < builders.Length; p++)
        {
            builders[p] = new ColumnBuilder(parameters[p], expectedRows);
        }

        for (var block = first ?? await ReadBlockAsync().ConfigureAwait(false); block is not null; block = await ReadBlockAsync().ConfigureAwait(false))
        {
            for (var p = 0; p < builders.Length; p++)
            {
                builders[p].Append(block.ColumnArray[p], block.RowCount);
            }
        }

        var columns = new SseColumn[builders.Length];
        for (var p = 0; p < builders.Length; p++)
        {
            columns[p] = builders[p].Build();
        }

        return new SseTable(columns, (int)RowsRead);
    }

    private void Check(RequestBlock block)
    {
        var parameters = Function.Parameters;
        var table = block.Table;
        if (block.RaggedRow >= 0 || table.Columns.Count != parameters.Count)
        {
            var row = block.RaggedRow >= 0 ? block.RaggedRow : 0;
            var width = block.RaggedRow >= 0 ? block.RaggedRowWidth : table.Columns.Count;
            throw new SseCallException(
                StatusCode.InvalidArgument,
                $"{Function.Name}: row {RowsRead + row + 1} holds {width} values but the function takes {parameters.Count} "
                + $"({Function.Signature}). Call it with exactly {parameters.Count} parameter(s).");
        }

        var columns = table.ColumnArray;
        for (var p = 0; p < parameters.Count; p++)
        {
            var column = columns[p];
            var strings = column.StringArray;
            switch (parameters[p].DataType)
            {
                case SseDataType.Numeric when strings is not null:
                    for (var row = 0; row < table.RowCount; row++)
                    {
                        if (strings[row]!.Length != 0)
                        {
                            throw new SseCallException(
                                StatusCode.InvalidArgument,
                                $"{Function.Name}: parameter '{parameters[p].Name}' is numeric but row {RowsRead + row + 1} holds the text "
                                + $"'{Shorten(strings[row]!)}'. Pass a number, e.g. Num(...) in Qlik.");
                        }
                    }

                    break;
                case SseDataType.String or SseDataType.Dual when strings is null:
                    // No row of the block carried text: Qlik leaves empty strings out.
                    var empty = new string[table.RowCount];
                    Array.Fill(empty, string.Empty);
                    columns[p] = new SseColumn(string.Empty, SseDataType.Dual, column.NumberArray, empty, table.RowCount);
                    break;
            }
        }
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 40), "…");
}
