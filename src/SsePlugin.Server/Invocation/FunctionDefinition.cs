namespace SsePlugin.Server.Invocation;

/// <summary>A parameter of an SSE function as Qlik sees it.</summary>
/// <param name="Name">The parameter name.</param>
/// <param name="DataType">The parameter's data type.</param>
public sealed record ParameterDefinition(string Name, SseDataType DataType);

/// <summary>A function of the catalog: what <c>GetCapabilities</c> announces and how a call reaches it.</summary>
public sealed class FunctionDefinition
{
    internal FunctionDefinition(
        int id,
        string name,
        SseFunctionType functionType,
        SseDataType returnType,
        IReadOnlyList<ParameterDefinition> parameters,
        bool noCache,
        string source,
        FunctionInvoker invoker,
        string? location = null)
    {
        Id = id;
        Name = name;
        FunctionType = functionType;
        ReturnType = returnType;
        Parameters = parameters;
        NoCache = noCache;
        Source = source;
        Invoker = invoker;
        Location = location;
    }

    /// <summary>Gets the function id Qlik calls it by.</summary>
    public int Id { get; }

    /// <summary>Gets the name Qlik shows.</summary>
    public string Name { get; }

    /// <summary>Gets the function type.</summary>
    public SseFunctionType FunctionType { get; }

    /// <summary>Gets the data type of the answer.</summary>
    public SseDataType ReturnType { get; }

    /// <summary>Gets the parameters in declaration order.</summary>
    public IReadOnlyList<ParameterDefinition> Parameters { get; }

    /// <summary>Gets whether every answer tells Qlik not to cache it.</summary>
    public bool NoCache { get; }

    /// <summary>Gets where the function is defined, e.g. <c>Type.Method</c>.</summary>
    public string Source { get; }

    /// <summary>Gets the call syntax with parameter names, e.g. <c>SumOfRows(col1, col2)</c>.</summary>
    public string Signature => $"{Name}({string.Join(", ", Parameters.Select(p => p.Name))})";

    /// <summary>
    /// Gets where the definition is written, e.g. <c>MyFunctions.cs:42</c> or the functions file, when known.
    /// </summary>
    internal string? Location { get; }

    /// <summary>Runs one call.</summary>
    internal FunctionInvoker Invoker { get; }
}
