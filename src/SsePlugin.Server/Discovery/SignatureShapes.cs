namespace SsePlugin.Server.Discovery;

/// <summary>What a method parameter is to the host.</summary>
internal enum ArgumentKind
{
    /// <summary>One row's value: <see cref="double"/>, <see cref="string"/> or <see cref="SseDual"/>.</summary>
    Value,

    /// <summary>A whole column: an array of one of those.</summary>
    Column,

    /// <summary>The rows as an <see cref="IAsyncEnumerable{T}"/> of <see cref="SseRow"/>.</summary>
    RowStream,

    /// <summary>The <see cref="SseCallContext"/>.</summary>
    Context,

    /// <summary>The call's <see cref="CancellationToken"/>.</summary>
    Cancellation,
}

/// <summary>What a method returns, to the host.</summary>
internal enum ResultKind
{
    /// <summary>One value.</summary>
    Value,

    /// <summary>An array: one value per input row.</summary>
    Column,

    /// <summary>An <see cref="SseTable"/>.</summary>
    Table,

    /// <summary>An <see cref="IAsyncEnumerable{T}"/> of values.</summary>
    ValueStream,
}

/// <summary>How the request rows reach the method.</summary>
internal enum InputKind
{
    /// <summary>One row at a time, as values.</summary>
    Rows,

    /// <summary>All rows at once, as columns.</summary>
    Columns,

    /// <summary>As a stream of rows.</summary>
    Stream,
}

/// <summary>Which invoker runs the function.</summary>
internal enum InvokerKind
{
    PerRow,
    WholeCall,
    Streaming,
}

/// <summary>A method parameter, classified.</summary>
/// <param name="Kind">What it is to the host.</param>
/// <param name="DataType">The SSE data type of its values (for values and columns).</param>
/// <param name="DataIndex">Its position among the data parameters, or -1.</param>
internal readonly record struct ArgumentPlan(ArgumentKind Kind, SseDataType DataType, int DataIndex);

/// <summary>A method's return type, classified.</summary>
/// <param name="Kind">What it is to the host.</param>
/// <param name="DataType">The SSE data type of its values (tables: <see cref="SseDataType.Dual"/>).</param>
/// <param name="Type">The value type inside any <c>Task</c>, <c>ValueTask</c> or stream.</param>
/// <param name="Awaited">Whether it is awaited: a <see cref="Task{T}"/> or a <see cref="ValueTask{T}"/>.</param>
internal readonly record struct ResultPlan(ResultKind Kind, SseDataType DataType, Type Type, Awaited Awaited);

/// <summary>Whether, and as what, a method's result is awaited.</summary>
internal enum Awaited
{
    /// <summary>Not awaited: the value itself, or a stream.</summary>
    No,

    /// <summary>A <see cref="Task{T}"/>.</summary>
    Task,

    /// <summary>A <see cref="ValueTask{T}"/>.</summary>
    ValueTask,
}

/// <summary>One supported combination of inputs and answer, with the function types it may be declared as.</summary>
internal sealed record SignatureShape(
    InputKind Input, ResultKind Result, bool AllowsAwait, SseFunctionType[] FunctionTypes, InvokerKind Invoker);

/// <summary>The table of supported method shapes and the type mapping behind it.</summary>
internal static class SignatureShapes
{
    // The function types that answer row by row. Declared first: the table below uses it as it initializes.
    private static readonly SseFunctionType[] RowWise = [SseFunctionType.Scalar, SseFunctionType.Tensor];

    /// <summary>Every supported shape; a method matches at most one.</summary>
    public static IReadOnlyList<SignatureShape> All { get; } =
    [
        new(InputKind.Rows, ResultKind.Value, false, RowWise, InvokerKind.PerRow),
        new(InputKind.Columns, ResultKind.Value, true, [SseFunctionType.Aggregation], InvokerKind.WholeCall),
        new(InputKind.Columns, ResultKind.Column, true, RowWise, InvokerKind.WholeCall),
        new(
            InputKind.Columns,
            ResultKind.Table,
            true,
            [SseFunctionType.Scalar, SseFunctionType.Tensor, SseFunctionType.Aggregation],
            InvokerKind.WholeCall),
        new(InputKind.Stream, ResultKind.ValueStream, false, RowWise, InvokerKind.Streaming),
        new(InputKind.Stream, ResultKind.Value, true, [SseFunctionType.Aggregation], InvokerKind.WholeCall),
    ];

    private static readonly Dictionary<Type, SseDataType> ValueTypes = new()
    {
        [typeof(double)] = SseDataType.Numeric,
        [typeof(string)] = SseDataType.String,
        [typeof(SseDual)] = SseDataType.Dual,
    };

    /// <summary>Classifies a parameter type, or returns <see langword="null"/> when it is not supported.</summary>
    public static (ArgumentKind Kind, SseDataType DataType)? ClassifyParameter(Type type)
    {
        if (ValueTypes.TryGetValue(type, out var dataType))
        {
            return (ArgumentKind.Value, dataType);
        }

        if (type.IsArray && type.GetArrayRank() == 1 && ValueTypes.TryGetValue(type.GetElementType()!, out dataType))
        {
            return (ArgumentKind.Column, dataType);
        }

        if (type == typeof(IAsyncEnumerable<SseRow>))
        {
            return (ArgumentKind.RowStream, SseDataType.Dual);
        }

        if (type == typeof(SseCallContext))
        {
            return (ArgumentKind.Context, SseDataType.Dual);
        }

        return type == typeof(CancellationToken) ? (ArgumentKind.Cancellation, SseDataType.Dual) : null;
    }

    /// <summary>Classifies a return type, or returns <see langword="null"/> when it is not supported.</summary>
    public static ResultPlan? ClassifyResult(Type type)
    {
        var awaited = !type.IsGenericType ? Awaited.No
            : type.GetGenericTypeDefinition() == typeof(Task<>) ? Awaited.Task
            : type.GetGenericTypeDefinition() == typeof(ValueTask<>) ? Awaited.ValueTask
            : Awaited.No;
        var inner = awaited == Awaited.No ? type : type.GetGenericArguments()[0];
        if (inner == typeof(SseTable))
        {
            return new ResultPlan(ResultKind.Table, SseDataType.Dual, inner, awaited);
        }

        if (ClassifyParameter(inner) is ({ } kind and (ArgumentKind.Value or ArgumentKind.Column), var dataType))
        {
            var result = kind == ArgumentKind.Value ? ResultKind.Value : ResultKind.Column;
            return new ResultPlan(result, dataType, inner, awaited);
        }

        if (awaited == Awaited.No
            && inner.IsGenericType
            && inner.GetGenericTypeDefinition() == typeof(IAsyncEnumerable<>)
            && ValueTypes.TryGetValue(inner.GetGenericArguments()[0], out dataType))
        {
            return new ResultPlan(ResultKind.ValueStream, dataType, inner.GetGenericArguments()[0], Awaited.No);
        }

        return null;
    }
}
