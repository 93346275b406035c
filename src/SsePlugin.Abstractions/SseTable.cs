namespace SsePlugin;

/// <summary>
/// A table of equal-length columns. Returned by a function it is sent to Qlik with its field names and types
/// (<c>qlik-tabledescription-bin</c>), which is what <c>LOAD ... EXTENSION</c> reads. A table whose columns all have
/// empty names is sent without that description, and Qlik names its fields <c>Field1</c>, <c>Field2</c>, ...
/// </summary>
public sealed class SseTable
{
    /// <summary>Creates a table from its columns, which must all hold the same number of values.</summary>
    /// <param name="columns">The columns, in field order.</param>
    public SseTable(params SseColumn[] columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        RowCount = columns.Length == 0 ? 0 : columns[0].Count;
        foreach (var column in columns)
        {
            if (column.Count != RowCount)
            {
                throw new ArgumentException(
                    $"Column '{column.Name}' has {column.Count} values but column '{columns[0].Name}' has "
                    + $"{RowCount}; all columns of a table must be of equal length.",
                    nameof(columns));
            }
        }

        ColumnArray = columns;
    }

    internal SseTable(SseColumn[] columns, int rowCount)
    {
        ColumnArray = columns;
        RowCount = rowCount;
    }

    /// <summary>Gets or sets the table name sent in the table description; empty by default.</summary>
    public string Name { get; init; } = string.Empty;

    /// <summary>Gets the columns in field order.</summary>
    public IReadOnlyList<SseColumn> Columns => ColumnArray;

    /// <summary>Gets the number of rows.</summary>
    public int RowCount { get; }

    /// <summary>The columns, for the host's row loops.</summary>
    internal SseColumn[] ColumnArray { get; }

    /// <summary>Gets whether the table is sent with its description: when at least one column has a name.</summary>
    internal bool IsDescribed => Array.Exists(ColumnArray, column => column.Name.Length > 0);
}
