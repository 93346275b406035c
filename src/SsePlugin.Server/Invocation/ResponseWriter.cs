using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grpc.Core;
using Qlik.Sse;
using SsePlugin.Server.Wire;

namespace SsePlugin.Server.Invocation;

/// <summary>
/// Writes a call's answer: the response headers Qlik reads before any row (table description, cache control),
/// then rows bundled into messages under a byte limit, then the cache trailer if the function asked for it late.
/// </summary>
internal sealed class ResponseWriter(
    IServerStreamWriter<ResponseChunk> stream,
    ServerCallContext context,
    SseCallContext callContext,
    SseFunction function,
    int maxMessageBytes)
{
    /// <summary>The largest message Qlik's engine receives (gRPC's default receive limit).</summary>
    public const int QlikMaxMessageBytes = 4 * 1024 * 1024;

    /// <summary>The metadata key of the table description.</summary>
    public const string TableDescriptionHeader = "qlik-tabledescription-bin";

    /// <summary>
    /// The largest table description sent, serialized: Qlik's engine (a gRPC C-core client) takes at most 8 KB of
    /// response headers, and a binary header travels in base64, a third longer.
    /// </summary>
    public const int MaxTableDescriptionBytes = 4096;

    /// <summary>The metadata key of cache control.</summary>
    public const string CacheHeader = "qlik-cache";

    private readonly ResponseChunk _chunk = new();
    private readonly int _bundleBytes = Math.Min(maxMessageBytes, QlikMaxMessageBytes);
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
            if (_chunk.Size > QlikMaxMessageBytes)
            {
                // Only a chunk of a single row outgrows the bundle size, and a row cannot be split across messages.
                throw new SseCallException(
                    StatusCode.ResourceExhausted,
                    $"{function.Name}: row {RowsWritten + 1} of the answer takes {_chunk.Size} bytes, more than the 4 MiB ({QlikMaxMessageBytes} bytes) "
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
            context.ResponseTrailers.Add(CacheHeader, "no-store");
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
            headers.Add(CacheHeader, "no-store");
        }

        if (description is not null)
        {
            var bytes = Describe(description).ToByteArray();
            if (bytes.Length > MaxTableDescriptionBytes)
            {
                throw new SseCallException(
                    StatusCode.ResourceExhausted,
                    $"{function.Name}: the answer's table description ({description.Columns.Count} fields) takes {bytes.Length} bytes, more than the "
                    + $"{MaxTableDescriptionBytes} Qlik's engine accepts in a response header. Return fewer fields or shorter field names.");
            }

            headers.Add(TableDescriptionHeader, bytes);
        }

        await context.WriteResponseHeadersAsync(headers).ConfigureAwait(false);
    }

    private static TableDescription Describe(SseTable table)
    {
        var description = new TableDescription { Name = table.Name, NumberOfRows = table.RowCount };
        foreach (var column in table.Columns)
        {
            var field = new FieldDescription { Name = column.Name, DataType = (DataType)column.DataType };
            field.Tags.AddRange(column.Tags);
            description.Fields.Add(field);
        }

        return description;
    }
}
