using System.Runtime.CompilerServices;
using Grpc.Core;
using SsePlugin.Server.Protocol;

namespace SsePlugin.Server.Invocation;

/// <summary>
/// Writes a call's answer: the response headers Qlik reads before any row (table description, cache control),
/// then rows bundled into messages under a byte limit, then the cache trailer if the function asked for it late.
/// </summary>
internal sealed class ResponseWriter(
    IServerStreamWriter<ResponseChunk> stream,
    ServerCallContext context,
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

    /// <summary>Writes the first <paramref name="rowCount"/> rows of <paramref name="columns"/>.</summary>
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
                    $"{function.Name}: row {RowsWritten + 1} of the answer takes {_chunk.Size} bytes, more than the 4 MiB ({QlikProtocol.MaxMessageBytes} bytes) "
                    + "Qlik's engine accepts in one message, and a row cannot be split. Return shorter texts.");
            }

            await stream.WriteAsync(_chunk).ConfigureAwait(false);
            RowsWritten += _chunk.RowCount;
        }
    }

    /// <summary>Finishes the answer: sends the headers if no row did, and the cache trailer if still owed.</summary>
    public async ValueTask CompleteAsync()
    {
        await SendHeadersAsync(null).ConfigureAwait(false);
        if (callContext.IsCacheDisabled && !_noStoreSent)
        {
            context.ResponseTrailers.Add(QlikProtocol.CacheHeader, QlikProtocol.NoStore);
        }
    }

    private async ValueTask SendHeadersAsync(SseTable? description)
    {
        if (_headersSent)
        {
            if (description is not null)
            {
                throw new InvalidOperationException("The table description must be sent before any row.");
            }

            return;
        }

        _headersSent = true;
        _noStoreSent = function.NoCache || callContext.IsCacheDisabled;
        if (!_noStoreSent && description is null)
        {
            return;
        }

        var headers = new Metadata();
        if (_noStoreSent)
        {
            headers.Add(QlikProtocol.CacheHeader, QlikProtocol.NoStore);
        }

        if (description is not null)
        {
            var bytes = TableDescriptions.Serialize(description);
            if (bytes.Length > QlikProtocol.MaxTableDescriptionBytes)
            {
                throw new CallFailure(
                    CallFailureKind.LimitExceeded,
                    $"{function.Name}: the answer's table description ({description.Columns.Count} fields) takes {bytes.Length} bytes, more than the "
                    + $"{QlikProtocol.MaxTableDescriptionBytes} Qlik's engine accepts in a response header. Return fewer fields or shorter field names.");
            }

            headers.Add(QlikProtocol.TableDescriptionHeader, bytes);
        }

        await context.WriteResponseHeadersAsync(headers).ConfigureAwait(false);
    }

}
