using Qlik.Sse;

namespace SsePlugin.Client;

/// <summary>A field of an answer's table description: its name, data type and tags.</summary>
/// <param name="Name">The name Qlik gives the field.</param>
/// <param name="DataType">Its data type.</param>
/// <param name="Tags">Its tags.</param>
public sealed record SseField(string Name, SseDataType DataType, IReadOnlyList<string> Tags);

/// <summary>
/// The table description an answer carries (<c>qlik-tabledescription-bin</c>), which <c>LOAD ... EXTENSION</c> reads.
/// </summary>
/// <param name="Name">The table's name.</param>
/// <param name="NumberOfRows">The number of rows announced.</param>
/// <param name="Fields">The fields, in column order.</param>
public sealed record SseTableDescription(string Name, long NumberOfRows, IReadOnlyList<SseField> Fields)
{
    internal static SseTableDescription From(TableDescription table) => new(
        table.Name,
        table.NumberOfRows,
        [.. table.Fields.Select(f => new SseField(f.Name, (SseDataType)f.DataType, [.. f.Tags]))]);
}
