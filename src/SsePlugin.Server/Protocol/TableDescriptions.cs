using Google.Protobuf;
using Qlik.Sse;

namespace SsePlugin.Server.Protocol;

/// <summary>Writes the table description Qlik reads for a <c>LOAD ... EXTENSION</c> answer.</summary>
internal static class TableDescriptions
{
    /// <summary>Serializes the description of <paramref name="table"/>: its name, row count and fields.</summary>
    /// <returns>The bytes of the <c>qlik-tabledescription-bin</c> header.</returns>
    public static byte[] Serialize(SseTable table)
    {
        var description = new TableDescription { Name = table.Name, NumberOfRows = table.RowCount };
        foreach (var column in table.Columns)
        {
            var field = new FieldDescription { Name = column.Name, DataType = (DataType)column.DataType };
            field.Tags.AddRange(column.Tags);
            description.Fields.Add(field);
        }

        return description.ToByteArray();
    }
}
