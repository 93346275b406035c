namespace SsePlugin.Server.Invocation;

/// <summary>Gathers one parameter's values over all request messages of a call into one exact-length column.</summary>
/// <param name="parameter">The parameter.</param>
/// <param name="expectedRows">The rows Qlik announced (its cardinality), so that the column is allocated once.</param>
internal sealed class ColumnBuilder(SseParameter parameter, int expectedRows)
{
    private double[] _numbers = parameter.DataType == SseDataType.String ? [] : new double[expectedRows];
    private string[] _strings = parameter.DataType == SseDataType.Numeric ? [] : new string[expectedRows];
    private int _count;

    /// <summary>Appends the first <paramref name="rows"/> values of a checked request column.</summary>
    public void Append(SseColumn column, int rows)
    {
        var size = _count + rows;
        if (parameter.DataType != SseDataType.String)
        {
            Grow(ref _numbers, size);
            Array.Copy(column.NumberArray!, 0, _numbers, _count, rows);
        }

        if (parameter.DataType != SseDataType.Numeric)
        {
            Grow(ref _strings, size);
            Array.Copy(column.StringArray!, 0, _strings, _count, rows);
        }

        _count = size;
    }

    /// <summary>Returns the column, named and typed after the parameter.</summary>
    public SseColumn Build()
    {
        // Exact when Qlik announced the right cardinality; otherwise one copy.
        Array.Resize(ref _numbers, parameter.DataType == SseDataType.String ? 0 : _count);
        Array.Resize(ref _strings, parameter.DataType == SseDataType.Numeric ? 0 : _count);
        return parameter.DataType switch
        {
            SseDataType.Numeric => new SseColumn(parameter.Name, _numbers),
            SseDataType.String => new SseColumn(parameter.Name, _strings),
            _ => new SseColumn(parameter.Name, _numbers, _strings),
        };
    }

    private static void Grow<T>(ref T[] array, int size)
    {
        if (size > array.Length)
        {
            Array.Resize(ref array, Math.Max(size, array.Length * 2));
        }
    }
}
