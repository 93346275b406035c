using Grpc.Core;
using Qlik.Sse;

namespace SsePlugin.Client;

/// <summary>
/// What a plugin answered to a call: its rows (those that came before a failure too), its status, the
/// <c>qlik-cache</c> header and the table description.
/// </summary>
public sealed class SseAnswer
{
    private readonly IReadOnlyList<Row> _rows;

    internal SseAnswer(IReadOnlyList<Row> rows, int messages, Metadata headers, Metadata trailers, Status status)
    {
        _rows = rows;
        Messages = messages;
        Headers = headers;
        Trailers = trailers;
        Status = status;
        Rows = [.. rows.Select(row => (IReadOnlyList<SseDual>)[.. row.Duals.Select(d => new SseDual(d.NumData,
            d.StrData))])];
    }

    /// <summary>Gets the rows, each a dual per column.</summary>
    public IReadOnlyList<IReadOnlyList<SseDual>> Rows { get; }

    /// <summary>Gets how many response messages carried the rows.</summary>
    public int Messages { get; }

    /// <summary>Gets the call's status: <see cref="StatusCode.OK"/>, or the code and message Qlik shows.</summary>
    public Status Status { get; }

    /// <summary>Gets the status code.</summary>
    public StatusCode StatusCode => Status.StatusCode;

    /// <summary>Gets whether the call succeeded.</summary>
    public bool Succeeded => Status.StatusCode == StatusCode.OK;

    /// <summary>Gets the response headers.</summary>
    public Metadata Headers { get; }

    /// <summary>Gets the trailers.</summary>
    public Metadata Trailers { get; }

    /// <summary>
    /// Gets the value of the <c>qlik-cache</c> header or trailer (<c>no-store</c>: Qlik does not cache the answer),
    /// or null.
    /// </summary>
    public string? Cache => Headers.Get("qlik-cache")?.Value ?? Trailers.Get("qlik-cache")?.Value;

    /// <summary>Gets whether the answer tells Qlik not to cache it (<c>qlik-cache: no-store</c>).</summary>
    public bool NoStore => Cache == "no-store";

    /// <summary>Gets the table description (<c>qlik-tabledescription-bin</c>), or null when the answer has
    /// none.</summary>
    public SseTableDescription? Table => Headers.Get("qlik-tabledescription-bin") is { } entry
        ? SseTableDescription.From(TableDescription.Parser.ParseFrom(entry.ValueBytes))
        : null;

    /// <summary>Gets the rows as they came on the wire.</summary>
    internal IReadOnlyList<Row> WireRows => _rows;

    /// <summary>Gets a column's numbers (NaN is Qlik's null).</summary>
    /// <param name="column">The column, 0 (the one a chart shows) by default.</param>
    /// <returns>One number per row.</returns>
    public double[] Numbers(int column = 0) => [.. _rows.Select(row => row.Duals[column].NumData)];

    /// <summary>Gets a column's texts.</summary>
    /// <param name="column">The column, 0 by default.</param>
    /// <returns>One text per row.</returns>
    public string[] Strings(int column = 0) => [.. _rows.Select(row => row.Duals[column].StrData)];

    /// <summary>Gets a column's duals.</summary>
    /// <param name="column">The column, 0 by default.</param>
    /// <returns>One dual per row.</returns>
    public SseDual[] Duals(int column = 0) => [.. Rows.Select(row => row[column])];

    /// <summary>Throws when the call failed, with its status and message.</summary>
    /// <returns>This answer.</returns>
    /// <exception cref="RpcException">The call failed.</exception>
    public SseAnswer EnsureSucceeded() => Succeeded ? this : throw new RpcException(Status, Trailers);

    /// <inheritdoc/>
    public override string ToString() => Succeeded
        ? $"{_rows.Count} rows in {Messages} messages"
        : $"{Status.StatusCode}: {Status.Detail} (after {_rows.Count} rows)";
}
