using System.Runtime.CompilerServices;

namespace SsePlugin;

/// <summary>Makes a public method an SSE function that Qlik can call as <c>Alias.Name(...)</c>.</summary>
/// <remarks>
/// <para>
/// Ids must be unique and must never change once Qlik has seen them: Qlik maps names to ids only when its engine
/// starts. The host refuses to start when two functions share an id or a name, or when a signature does not fit.
/// </para>
/// <para>
/// Parameters of type <see cref="double"/>, <see cref="string"/> or <see cref="SseDual"/> make a per-row function
/// (scalar or tensor) that the host calls once per row; arrays of them receive whole columns (aggregations, tensor
/// functions answering a column, and functions answering an <see cref="SseTable"/>); an
/// <see cref="IAsyncEnumerable{T}"/> of <see cref="SseRow"/> streams the rows, with the parameters declared by
/// <see cref="SseParameterAttribute"/>. A <see cref="SseCallContext"/> or <see cref="CancellationToken"/>
/// parameter may be added to any of them.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// [SseFunction(5, SseFunctionType.Tensor)]
/// public static double SumOfRows(double col1, double col2) => col1 + col2;
/// </code>
/// </example>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class SseFunctionAttribute : Attribute
{
    private SseDataType? _tableReturnType;

    /// <summary>Declares an SSE function.</summary>
    /// <param name="id">The function id Qlik calls it by; unique and stable across versions.</param>
    /// <param name="functionType">Scalar, aggregation or tensor.</param>
    /// <param name="sourceFile">Filled in by the compiler; used in validation messages.</param>
    /// <param name="sourceLine">Filled in by the compiler; used in validation messages.</param>
    public SseFunctionAttribute(
        int id,
        SseFunctionType functionType,
        [CallerFilePath] string sourceFile = "",
        [CallerLineNumber] int sourceLine = 0)
    {
        Id = id;
        FunctionType = functionType;
        SourceFile = sourceFile;
        SourceLine = sourceLine;
    }

    /// <summary>Gets the function id.</summary>
    public int Id { get; }

    /// <summary>Gets the function type.</summary>
    public SseFunctionType FunctionType { get; }

    /// <summary>
    /// Gets or sets the name Qlik sees; defaults to the method name. Letters, digits and underscores only.
    /// </summary>
    public string? Name { get; set; }

    /// <summary>
    /// Gets or sets the return type announced for a function that returns an <see cref="SseTable"/>, whose column
    /// types are known only when it answers; <see cref="SseDataType.Dual"/> by default. Outside
    /// <c>LOAD ... EXTENSION</c> Qlik reads the first column as this type. Other functions must not set it.
    /// </summary>
    public SseDataType TableReturnType
    {
        get => _tableReturnType ?? SseDataType.Dual;
        set => _tableReturnType = value;
    }

    /// <summary>Gets whether <see cref="TableReturnType"/> was set.</summary>
    internal bool HasTableReturnType => _tableReturnType is not null;

    /// <summary>Gets the source file the attribute was written in.</summary>
    public string SourceFile { get; }

    /// <summary>Gets the line the attribute was written on.</summary>
    public int SourceLine { get; }
}

/// <summary>Tells Qlik never to cache this function's answers (<c>qlik-cache: no-store</c>).</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class NoCacheAttribute : Attribute
{
}

/// <summary>
/// Declares, in order, the parameters of a function that reads its rows as a stream of <see cref="SseRow"/>.
/// </summary>
/// <param name="name">The parameter name Qlik shows.</param>
/// <param name="dataType">The parameter's data type.</param>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true, Inherited = false)]
public sealed class SseParameterAttribute(string name, SseDataType dataType) : Attribute
{
    /// <summary>Gets the parameter name.</summary>
    public string Name { get; } = name;

    /// <summary>Gets the parameter's data type.</summary>
    public SseDataType DataType { get; } = dataType;
}
