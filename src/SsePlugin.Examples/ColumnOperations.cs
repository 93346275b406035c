namespace SsePlugin.Examples;

/// <summary>The functions of Qlik's ColumnOperations example app.</summary>
public static class ColumnOperations
{
    /// <summary>Adds two numbers per row.</summary>
    /// <param name="col1">The first number.</param>
    /// <param name="col2">The second number.</param>
    /// <returns>Their sum; null (NaN) where either is null.</returns>
    [SseFunction(5, SseFunctionType.Tensor)]
    public static double SumOfRows(double col1, double col2) => col1 + col2;

    /// <summary>Sums a column.</summary>
    /// <param name="col1">The numbers.</param>
    /// <returns>Their sum; Qlik's nulls (NaN) are skipped.</returns>
    [SseFunction(6, SseFunctionType.Aggregation)]
    public static double SumOfColumn(double[] col1)
    {
        var sum = 0d;
        foreach (var value in col1)
        {
            if (!double.IsNaN(value))
            {
                sum += value;
            }
        }

        return sum;
    }

    /// <summary>
    /// The maximum of each of two columns, as one row of fields Max1 and Max2, for <c>LOAD ... EXTENSION</c>.
    /// </summary>
    /// <param name="col1">The first column.</param>
    /// <param name="col2">The second column.</param>
    /// <returns>One row; a column without numbers gives null.</returns>
    [SseFunction(7, SseFunctionType.Tensor, Name = "MaxOfColumns_2", TableReturnType = SseDataType.Numeric)]
    public static SseTable MaxOfColumns(double[] col1, double[] col2) =>
        new(new SseColumn("Max1", [Max(col1)]), new SseColumn("Max2", [Max(col2)])) { Name = "MaxOfColumns" };

    private static double Max(double[] values)
    {
        var max = double.NaN;
        foreach (var value in values)
        {
            if (!double.IsNaN(value) && (double.IsNaN(max) || value > max))
            {
                max = value;
            }
        }

        return max;
    }
}
