using System.Runtime.CompilerServices;
using SsePlugin.Server.Protocol;

namespace SsePlugin.Server.Invocation;

/// <summary>
/// Writes a call's answer: the response headers Qlik reads before any row (table description, cache control),
/// then rows bundled into messages under a byte limit, then the cache trailer if the function asked for it late.
/// </summary>
/// <param name="answers">Where the answer goes.</param>
/// <param name="callContext">The call's context, which says whether the function turned caching off.</param>
/// <param name="function">The function called.</param>
/// <param name="maxMessageBytes">The size answer messages are bundled up to (SsePlugin:ResponseBundleBytes).</param>
internal sealed class ResponseWriter(
    IAnswerWriter answers,
    SseCallContext callContext,
    FunctionDefinition function,
    int maxMessageBytes)
{
    private readonly ResponseChunk _chunk = new();
    private readonly int _bundleBytes = Math.Min(maxMessageBytes, QlikProtocol.MaxMessageBytes);
    private bool _headersSent;
    private bool _noStoreSent;

    /// <summary>Gets the number of rows written so far.</summary>
    public long RowsWritten { get; private set; }

    /// <summary>Gets or sets the answers a per-row or streaming function has made and not yet sent, if any.</summary>
    public RowOutput? Pending { get; set; }

    /// <summary>Writes the first <paramref name="rowCount"/> rows of <paramref name="columns"/>.</summary>
    /// <param name="columns">The answer's columns.</param>
    /// <param name="rowCount">How many of their rows to write.</param>
    /// <param name="description">The table to describe in the headers, for an answer sent with a description.</param>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask WriteAsync(IReadOnlyList<SseColumn> columns, int rowCount, SseTable? description = null)
    {
        await SendHeadersAsync(description).ConfigureAwait(false);
        for (var start = 0; start < rowCount;)
        {
            start += _chunk.Fill(columns, start, rowCount, _bundleBytes);
            if (_chunk.Size > QlikProtocol.MaxMessageBytes)
            {
                // Only a chunk of a single row outgrows the bundle size, and a row cannot be split across messages.
                throw new CallFailure(
                    CallFailureKind.LimitExceeded,
                    $"{function.Name}: row {RowsWritten + 1} of the answer takes {_chunk.Size} bytes, more than the "
                    + $"4 MiB ({QlikProtocol.MaxMessageBytes} bytes) Qlik's engine accepts in one message, and a row "
                    + "cannot be split. Return shorter texts.");
            }

            await answers.WriteAsync(_chunk).ConfigureAwait(false);
            RowsWritten += _chunk.RowCount;
        }
    }

    /// <summary>Sends the <see cref="Pending"/> answers, as the call is about to wait for Qlik's next rows.</summary>
    public ValueTask SendPendingAsync() => Pending is { } pending ? pending.FlushAsync() : ValueTask.CompletedTask;

    /// <summary>Finishes the answer: sends the headers if no row did, and the cache trailer if still owed.</summary>
    public async ValueTask CompleteAsync()
    {
        await SendHeadersAsync(null).ConfigureAwait(false);
        if (callContext.IsCacheDisabled && !_noStoreSent)
        {
            answers.WriteNoStoreTrailer();
        }
    }

    private ValueTask SendHeadersAsync(SseTable? description)
    {
        if (_headersSent)
        {
            return description is null
                ? ValueTask.CompletedTask
                : throw new InvalidOperationException("The table description must be sent before any row.");
        }

        _headersSent = true;
        _noStoreSent = function.NoCache || callContext.IsCacheDisabled;
        if (!_noStoreSent && description is null)
        {
            return ValueTask.CompletedTask;
        }

        byte[]? bytes = null;
        if (description is not null)
        {
            bytes = TableDescriptions.Serialize(description);
            if (bytes.Length > QlikProtocol.MaxTableDescriptionBytes)
            {
                throw new CallFailure(
                    CallFailureKind.LimitExceeded,
                    $"{function.Name}: the answer's table description ({description.Columns.Count} fields) takes "
                    + $"{bytes.Length} bytes, more than the {QlikProtocol.MaxTableDescriptionBytes} Qlik's engine "
                    + "accepts in a response header. Return fewer fields or shorter field names.");
            }
        }

        return answers.WriteHeadersAsync(_noStoreSent, bytes);
    }
}
