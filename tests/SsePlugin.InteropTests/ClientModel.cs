using Xunit;

namespace SsePlugin.InteropTests;

// The JSON that qlik_client.py reads (a list of calls) and writes (a list of results); see its docstring.

/// <summary>A value of a row: <c>numData</c>, <c>strData</c> or both. Results always carry both.</summary>
public sealed record Dual(double? Num = null, string? Str = null)
{
    /// <summary>A number (<c>numData</c>), as Qlik sends a numeric parameter.</summary>
    public static Dual N(double number) => new(Num: number);

    /// <summary>A text (<c>strData</c>), as Qlik sends a string parameter.</summary>
    public static Dual S(string text) => new(Str: text);
}

/// <summary>One call the Python client makes; <see cref="Bundles"/> are the BundledRows messages it streams.</summary>
public sealed record Call(
    string Method,
    string? Function = null,
    int? FunctionId = null,
    bool FunctionHeader = true,
    int[]? ExtraFunctionIds = null,
    string? Script = null,
    string? FunctionType = null,
    string? ReturnType = null,
    Parameter[]? Params = null,
    Dual[][][]? Bundles = null)
{
    public static Call GetCapabilities() => new("GetCapabilities");

    /// <summary>ExecuteFunction of the function of that name; the client looks its id up in GetCapabilities.</summary>
    public static Call Execute(string function, params Dual[][][] bundles) =>
        new("ExecuteFunction", function, Bundles: bundles);

    /// <summary>
    /// EvaluateScript with the ScriptRequestHeader Qlik sends for, e.g., ScriptEval (SCALAR, NUMERIC).
    /// </summary>
    public static Call EvaluateScript(
        string script, string functionType, string returnType, Parameter[] parameters, params Dual[][][] bundles) =>
        new(
            "EvaluateScript", Script: script, FunctionType: functionType, ReturnType: returnType, Params: parameters,
            Bundles: bundles);
}

/// <summary>What came back: the status, the metadata (-bin values in base64) and the rows or capabilities.</summary>
public sealed record CallResult(
    string Code,
    string Details,
    Dual[][]? Rows,
    Dictionary<string, string>? InitialMetadata,
    Dictionary<string, string>? TrailingMetadata,
    TableDescription? TableDescription,
    Capabilities? Capabilities)
{
    /// <summary>Asserts that the call succeeded.</summary>
    /// <returns>This result.</returns>
    public CallResult Ok()
    {
        Assert.Equal(("OK", ""), (Code, Details));
        return this;
    }

    /// <summary>One column of the answer's rows.</summary>
    public IEnumerable<Dual> Column(int index) => Rows!.Select(row => row[index]);
}

public sealed record Capabilities(
    bool AllowScript, string PluginIdentifier, string PluginVersion, FunctionDefinition[] Functions);

public sealed record FunctionDefinition(
    int FunctionId, string Name, string FunctionType, string ReturnType, Parameter[] Params);

public sealed record Parameter(string Name, string DataType);

/// <summary>The decoded <c>qlik-tabledescription-bin</c> header.</summary>
public sealed record TableDescription(string Name, long NumberOfRows, FieldDescription[] Fields);

public sealed record FieldDescription(string Name, string DataType, string[] Tags);
