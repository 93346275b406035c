namespace SsePlugin;

/// <summary>How a function maps the rows Qlik sends to the rows it answers (SSE <c>FunctionType</c>).</summary>
public enum SseFunctionType
{
    /// <summary>One answer per input row; Qlik may call it row by row in the load script.</summary>
    Scalar = 0,

    /// <summary>One answer for all input rows.</summary>
    Aggregation = 1,

    /// <summary>One answer per input row, all rows of a chart or table in one call.</summary>
    Tensor = 2,
}

/// <summary>The data type of a parameter, an answer or a table field (SSE <c>DataType</c>).</summary>
public enum SseDataType
{
    /// <summary>Text.</summary>
    String = 0,

    /// <summary>A number; Qlik's null arrives as <see cref="double.NaN"/>.</summary>
    Numeric = 1,

    /// <summary>A number together with its text, see <see cref="SseDual"/>.</summary>
    Dual = 2,
}
