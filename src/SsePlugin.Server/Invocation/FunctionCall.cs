using System.Runtime.CompilerServices;
using Grpc.Core;
using SsePlugin.Server.Protocol;
using SsePlugin.Server.Transport;

namespace SsePlugin.Server.Invocation;

/// <summary>One call of a function: its request rows, checked against the declared parameters, and its answer.</summary>
/// <param name="function">The function called.</param>
/// <param name="requests">The request messages.</param>
/// <param name="response">The answer.</param>
/// <param name="context">What the function may learn about the call.</param>
/// <param name="cancellation">The source of the context's token, cancelled here when the request stream breaks.</param>
/// <param name="maxMemoryMegabytes">
/// The most memory the rows read whole may hold (SsePlugin:MaxCallMemoryMegabytes); 0 for no limit.
/// </param>
internal sealed class FunctionCall(
    FunctionDefinition function,
    IAsyncStreamReader<RequestMessage> requests,
    ResponseWriter response,
    SseCallContext context,
    CancellationTokenSource cancellation,
    int maxMemoryMegabytes)
{
    // Presizing trusts the header only this far (8 MB a numeric column); larger calls grow as rows arrive.
    private const int MaxPresizedRows = 1024 * 1024;

    // How grpc-dotnet's message starts when a length prefix is over 2 GiB ("Message too large: 4294967295").
    private const string OversizedLengthPrefix = "Message too large";

    // The block refilled by ReadTransientBlockAsync, and the last block ReadBlockAsync returned, which ReadAllAsync can continue.
    private RequestBlock? _transient;
    private (RequestBlock Block, SseTable Table)? _last;

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

    /// <summary>Gets the watch that ends the call when its client keeps it waiting too long; none: no limit.</summary>
    public ClientWatch? Watch { get; init; }

    /// <summary>Reads the next request message that holds rows, checked against the declared parameters.</summary>
    /// <returns>The rows, in arrays of their own that the caller may keep; <see langword="null"/> when Qlik has sent them all.</returns>
    public ValueTask<SseTable?> ReadBlockAsync() => ReadBlockAsync(null);

    /// <summary>Reads the next block like <see cref="ReadBlockAsync()"/>, sending <paramref name="pending"/> answers first, if any, when it would wait.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<SseTable?> ReadBlockAsync(RowOutput? pending)
    {
        if (await ReadMessageAsync(null, pending).ConfigureAwait(false) is not { } block)
        {
            return null;
        }

        var table = TableOf(block);
        _last = (block, table);
        return table;
    }

    /// <summary>
    /// Reads the next block like <see cref="ReadBlockAsync(RowOutput?)"/>, into arrays the next read refills: for a
    /// loop that is done with a block's rows before it reads the next, which then allocates no arrays per message.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<SseTable?> ReadTransientBlockAsync(RowOutput pending)
    {
        var block = _transient ??= new RequestBlock();
        block.Clear();
        return await ReadMessageAsync(block, pending).ConfigureAwait(false) is null ? null : TableOf(block);
    }

    /// <summary>Reads every remaining row into one exact-length column per parameter, named and typed after it.</summary>
    /// <param name="first">The last block <see cref="ReadBlockAsync()"/> returned, to put first; rows are appended to it.</param>
    public async ValueTask<SseTable> ReadAllAsync(SseTable? first = null)
    {
        RequestBlock rows;
        if (first is null)
        {
            // The announced cardinality sizes the columns; it is only a hint, capped against a bogus header.
            rows = new RequestBlock((int)Math.Clamp(Context.Cardinality, 0, MaxPresizedRows), Function.Parameters.Count);
        }
        else
        {
            rows = _last is { } last && ReferenceEquals(last.Table, first)
                ? last.Block
                : throw new InvalidOperationException("ReadAllAsync continues only the last block ReadBlockAsync returned.");
        }

        rows.MaxHeldBytes = maxMemoryMegabytes == 0 ? long.MaxValue : maxMemoryMegabytes * 1024L * 1024;
        try
        {
            while (await ReadMessageAsync(rows, null).ConfigureAwait(false) is not null)
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
            columns[p] = new SseColumn(
                parameter.Name,
                parameter.DataType,
                parameter.DataType == SseDataType.String ? null : empty ? [] : Exact(rows.Numbers(p), rows.RowCount),
                parameter.DataType == SseDataType.Numeric ? null : empty ? [] : Exact(rows.TextsOrEmpty(p), rows.RowCount),
                rows.RowCount);
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

    // Columns are handed to functions as arrays of exactly their rows: no copy when Qlik announced the right cardinality.
    private static T[] Exact<T>(T[] values, int count) => values.Length == count ? values : values[..count];

    /// <summary>
    /// Reads request messages until one holds rows, decoding each into <paramref name="into"/> (after its rows), or
    /// into a new block each when it is <see langword="null"/>; sends the <paramref name="pending"/> answers whenever
    /// it would wait.
    /// </summary>
    /// <remarks>Answers go out in large bundles while Qlik keeps rows coming, and without delay when it pauses.</remarks>
    /// <returns>The block the rows went into; <see langword="null"/> when Qlik has sent every row.</returns>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<RequestBlock?> ReadMessageAsync(RequestBlock? into, RowOutput? pending)
    {
        while (true)
        {
            bool moved;
            try
            {
                var moving = requests.MoveNext(Context.CancellationToken);
                if (!moving.IsCompleted)
                {
                    // Only a wait is watched: a message already there costs nothing.
                    Watch?.WaitingForRequest();
                    if (pending is not null)
                    {
                        await pending.FlushAsync().ConfigureAwait(false);
                    }
                }

                moved = await moving.ConfigureAwait(false);
                Watch?.RequestArrived();
            }
            catch (IOException e) when (e.Message.StartsWith(OversizedLengthPrefix, StringComparison.Ordinal))
            {
                // grpc-dotnet's refusal of a length prefix over 2 GiB (up to 0xFFFFFFFF): a message over any limit,
                // not a client that went away. Reported as the message over MaxReceiveMessageBytes it is.
                throw new RpcException(new Status(StatusCode.ResourceExhausted, e.Message));
            }
            catch (Exception e) when (e is IOException or OperationCanceledException)
            {
                // The client is gone or cancelled: the function sees its token cancelled before it sees this error.
                await cancellation.CancelAsync().ConfigureAwait(false);
                throw;
            }
            catch (InvalidDataException e)
            {
                // grpc-dotnet's own check of the message framing, e.g. a compressed flag that is neither 0 nor 1.
                throw new MalformedRequestException($"The request is not valid gRPC message framing: {e.Message}");
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Internal)
            {
                // grpc-dotnet's other framing faults, which it reports as its own (Internal): a compressed message
                // without a grpc-encoding header, or a request that ends in the middle of a message.
                throw new MalformedRequestException(
                    $"The request is not valid gRPC message framing: {e.Status.Detail}");
            }

            if (!moved)
            {
                return null;
            }

            var block = into ?? new RequestBlock();
            var from = block.RowCount;
            var message = requests.Current;
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
                Check(block, from);
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

    /// <summary>Checks the rows decoded from <paramref name="from"/> on against the parameters.</summary>
    private void Check(RequestBlock block, int from)
    {
        var parameters = Function.Parameters;
        // The first row sets the width, so a wrong one shows in the first message with rows, at its first row.
        var (wrongRow, width) = block.RowCount > from && block.Width != parameters.Count ? (0, block.Width)
            : block.RaggedRow >= 0 ? (block.RaggedRow - from, block.RaggedRowWidth)
            : (-1, 0);
        if (wrongRow >= 0)
        {
            throw new CallFailure(
                CallFailureKind.InvalidInput,
                $"{Function.Name}: row {RowsRead + wrongRow + 1} holds {width} values but the function takes {parameters.Count} "
                + $"({Function.Signature}). Call it with exactly {parameters.Count} parameter(s).");
        }

        for (var p = 0; p < parameters.Count; p++)
        {
            if (parameters[p].DataType != SseDataType.Numeric || block.Texts(p) is not { } texts)
            {
                continue;
            }

            for (var row = from; row < block.RowCount; row++)
            {
                if (texts[row]!.Length != 0)
                {
                    throw new CallFailure(
                        CallFailureKind.InvalidInput,
                        $"{Function.Name}: parameter '{parameters[p].Name}' is numeric but row {RowsRead + row - from + 1} holds the text "
                        + $"'{Shorten(texts[row]!)}'. Pass a number, e.g. Num(...) in Qlik.");
                }
            }
        }
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 40), "…");
}
