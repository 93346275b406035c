namespace SsePlugin;

/// <summary>One row of a streamed call, read by parameter position. Valid until the stream moves on.</summary>
public readonly struct SseRow
{
    private readonly SseTable _block;
    private readonly int _row;

    internal SseRow(SseTable block, int row)
    {
        _block = block;
        _row = row;
    }

    /// <summary>Gets the number of values in the row, one per declared parameter.</summary>
    public int Count => _block.Columns.Count;

    /// <summary>Gets a parameter's number; <see cref="double.NaN"/> is Qlik's null.</summary>
    /// <param name="parameter">The parameter's position.</param>
    /// <returns>The number.</returns>
    public double Number(int parameter) => _block.Columns[parameter].NumberAt(_row);

    /// <summary>Gets a parameter's text; empty where Qlik sent none.</summary>
    /// <param name="parameter">The parameter's position.</param>
    /// <returns>The text.</returns>
    public string Text(int parameter) => _block.Columns[parameter].TextAt(_row);

    /// <summary>Gets a parameter as a dual.</summary>
    /// <param name="parameter">The parameter's position.</param>
    /// <returns>The number and text.</returns>
    public SseDual Dual(int parameter) => new(Number(parameter), Text(parameter));
}
