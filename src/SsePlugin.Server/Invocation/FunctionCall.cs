using System.Runtime.CompilerServices;
using SsePlugin.Server.Protocol;

namespace SsePlugin.Server.Invocation;

/// <summary>
/// One call of a function: reads its request rows, checked against the declared parameters, in one of three modes
/// (a block per message in arrays of its own, a block per message in reused arrays, or every row at once).
/// </summary>
/// <param name="function">The function called.</param>
/// <param name="requests">The request messages.</param>
/// <param name="response">The answer.</param>
/// <param name="context">What the function may learn about the call.</param>
/// <param name="maxMemoryMegabytes">
/// The most memory the rows read whole may hold (SsePlugin:MaxCallMemoryMegabytes); 0 for no limit.
/// </param>
internal sealed class FunctionCall(
    FunctionDefinition function,
    IRequestReader requests,
    ResponseWriter response,
    SseCallContext context,
    int maxMemoryMegabytes)
{
    // Presizing trusts the header only this far (8 MB a numeric column); larger calls grow as rows arrive.
    private const int MaxPresizedRows = 1024 * 1024;

    // The block refilled by ReadTransientBlockAsync.
    private RequestBlock? _transient;

    /// <summary>Gets the function being called.</summary>
    public FunctionDefinition Function { get; } = function;

    /// <summary>Gets the answer.</summary>
    public ResponseWriter Response { get; } = response;

    /// <summary>Gets what the function may learn about the call.</summary>
    public SseCallContext Context { get; } = context;

    /// <summary>Gets the number of rows read so far.</summary>
    public long RowsRead { get; private set; }

    /// <summary>Gets the memory the rows read whole held, in bytes; 0 for a call that streams its rows.</summary>
    public long HeldBytes { get; private set; }

    /// <summary>Reads the next request message that holds rows, checked against the declared parameters.</summary>
    /// <returns>
    /// The rows, in arrays of their own that the caller may keep; <see langword="null"/> when Qlik has sent them all.
    /// </returns>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<RowBlock?> ReadBlockAsync()
    {
        return await ReadMessageAsync(null).ConfigureAwait(false) is { } block
            ? new RowBlock(block, TableOf(block))
            : null;
    }

    /// <summary>
    /// Reads the next block like <see cref="ReadBlockAsync"/>, into arrays the next read refills: for a loop that is
    /// done with a block's rows before it reads the next, which then allocates no arrays per message.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<SseTable?> ReadTransientBlockAsync()
    {
        var block = _transient ??= new RequestBlock();
        block.Clear();
        return await ReadMessageAsync(block).ConfigureAwait(false) is null ? null : TableOf(block);
    }

    /// <summary>Reads every remaining row into one exact-length column per parameter, named and typed after it.
    /// </summary>
    /// <param name="first">A block <see cref="ReadBlockAsync"/> returned last, to put first; rows are appended to it.
    /// </param>
    public async ValueTask<SseTable> ReadAllAsync(RowBlock? first = null)
    {
        // The announced cardinality sizes the columns; it is only a hint, capped against a bogus header.
        var rows = first?.Decoded
            ?? new RequestBlock((int)Math.Clamp(Context.Cardinality, 0, MaxPresizedRows), Function.Parameters.Count);
        rows.MaxHeldBytes = maxMemoryMegabytes == 0 ? long.MaxValue : maxMemoryMegabytes * 1024L * 1024;
        try
        {
            while (await ReadMessageAsync(rows).ConfigureAwait(false) is not null)
            {
                Hold(rows);
            }
        }
        catch (InsufficientMemoryException e)
        {
            throw new CallFailure(
                CallFailureKind.LimitExceeded,
                $"{Function.Name}: the call's rows take more than the {maxMemoryMegabytes} MB of memory "
                + $"SsePlugin:MaxCallMemoryMegabytes allows a call; it was ended after {rows.RowCount} rows. "
                + "Qlik sends an aggregation every row of its column: aggregate fewer rows or shorter texts, "
                + "or raise the setting if the machine has memory to spare.",
                e);
        }
        finally
        {
            Hold(rows);
        }

        var parameters = Function.Parameters;
        var columns = new SseColumn[parameters.Count];
        for (var p = 0; p < columns.Length; p++)
        {
            // Before any row the block has no columns yet: every parameter's column is empty.
            var parameter = parameters[p];
            var empty = rows.RowCount == 0;
            var numbers = parameter.DataType == SseDataType.String ? null
                : empty ? [] : Exact(rows.Numbers(p), rows.RowCount);
            var texts = parameter.DataType == SseDataType.Numeric ? null
                : empty ? [] : Exact(rows.TextsOrEmpty(p), rows.RowCount);
            columns[p] = new SseColumn(parameter.Name, parameter.DataType, numbers, texts, rows.RowCount);
        }

        return new SseTable(columns, rows.RowCount);
    }

    /// <summary>Lets go of the memory the call held; call it once, when the call has ended.</summary>
    /// <param name="exhausted">Whether the call ended for want of memory.</param>
    public void End(bool exhausted) => CallMemory.Release(HeldBytes, exhausted);

    private void Hold(RequestBlock rows)
    {
        CallMemory.Hold(rows.HeldBytes - HeldBytes);
        HeldBytes = rows.HeldBytes;
    }

    // Columns are handed to functions as arrays of exactly their rows: no copy when Qlik announced the cardinality.
    private static T[] Exact<T>(T[] values, int count) => values.Length == count ? values : values[..count];

    /// <summary>
    /// Reads request messages until one holds rows, decoding each into <paramref name="into"/> (after its rows), or
    /// into a new block each when it is <see langword="null"/>. Before it waits for a message, the answer sends
    /// what it holds.
    /// </summary>
    /// <remarks>Answers go out in large bundles while Qlik keeps rows coming, and without delay when it pauses.
    /// </remarks>
    /// <returns>The block the rows went into; <see langword="null"/> when Qlik has sent every row.</returns>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<RequestBlock?> ReadMessageAsync(RequestBlock? into)
    {
        while (true)
        {
            var reading = requests.ReadAsync();
            if (!reading.IsCompleted)
            {
                await Response.SendPendingAsync().ConfigureAwait(false);
            }

            if (await reading.ConfigureAwait(false) is not { } message)
            {
                return null;
            }

            var block = into ?? new RequestBlock();
            var from = block.RowCount;
            try
            {
                block.Append(message.Bytes);
            }
            finally
            {
                message.Release();
            }

            // A message may hold no row at all; the block then has nothing to check, perhaps not even columns.
            if (block.RowCount > from || block.RaggedRow >= 0)
            {
                RowChecks.Check(Function, block, from, RowsRead);
            }

            if (block.RowCount > from)
            {
                RowsRead += block.RowCount - from;
                return block;
            }
        }
    }

    // The rows of one message, as the per-row and streaming paths read them: dual columns, with texts wherever the
    // parameter takes text.
    private SseTable TableOf(RequestBlock block)
    {
        var parameters = Function.Parameters;
        for (var p = 0; p < parameters.Count; p++)
        {
            if (parameters[p].DataType != SseDataType.Numeric)
            {
                block.TextsOrEmpty(p);
            }
        }

        return block.ToTable();
    }
}
