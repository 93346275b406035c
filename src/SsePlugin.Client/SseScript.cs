using System.Diagnostics.CodeAnalysis;

namespace SsePlugin.Client;

/// <summary>A parameter of a script call: the name a Qlik author gives it (<c>Sales as s</c>) and its data
/// type.</summary>
/// <param name="Name">The name.</param>
/// <param name="DataType">The data type.</param>
public sealed record SseParameter(string Name, SseDataType DataType);

/// <summary>
/// A call of one of Qlik's script functions, as its <c>qlik-scriptrequestheader-bin</c> header tells the plugin: the
/// script, the function type, the return type and the parameters.
/// </summary>
/// <param name="Script">The script text, e.g. <c>args[0] + args[1]</c>.</param>
/// <param name="FunctionType">Scalar or tensor (per row) or aggregation (one answer).</param>
/// <param name="ReturnType">Numeric or string.</param>
/// <param name="Parameters">The parameters, in order.</param>
public sealed record SseScript(
    string Script, SseFunctionType FunctionType, SseDataType ReturnType, IReadOnlyList<SseParameter> Parameters)
{
    /// <summary>
    /// <c>ScriptEval(script, ...)</c>: numeric parameters, a number per row. Its parameters are named as Qlik names
    /// fields passed without <c>as</c>: by the given names.
    /// </summary>
    /// <param name="script">The script.</param>
    /// <param name="parameters">The parameters' names.</param>
    /// <returns>The call.</returns>
    public static SseScript Eval(string script, params string[] parameters) =>
        new(script, SseFunctionType.Tensor, SseDataType.Numeric, Named(parameters, SseDataType.Numeric));

    /// <summary><c>ScriptEvalStr(script, ...)</c>: string parameters, a text per row.</summary>
    /// <param name="script">The script.</param>
    /// <param name="parameters">The parameters' names.</param>
    /// <returns>The call.</returns>
    public static SseScript EvalStr(string script, params string[] parameters) =>
        new(script, SseFunctionType.Tensor, SseDataType.String, Named(parameters, SseDataType.String));

    /// <summary><c>ScriptAggr(script, ...)</c>: numeric parameters, one number for all rows.</summary>
    /// <param name="script">The script.</param>
    /// <param name="parameters">The parameters' names.</param>
    /// <returns>The call.</returns>
    public static SseScript Aggr(string script, params string[] parameters) =>
        new(script, SseFunctionType.Aggregation, SseDataType.Numeric, Named(parameters, SseDataType.Numeric));

    /// <summary><c>ScriptAggrStr(script, ...)</c>: string parameters, one text for all rows.</summary>
    /// <param name="script">The script.</param>
    /// <param name="parameters">The parameters' names.</param>
    /// <returns>The call.</returns>
    public static SseScript AggrStr(string script, params string[] parameters) =>
        new(script, SseFunctionType.Aggregation, SseDataType.String, Named(parameters, SseDataType.String));

    /// <summary>
    /// <c>ScriptEvalEx(types, script, ...)</c>: each parameter of its own type (numeric, string or dual, as the
    /// <c>types</c> letters N, S and D give them), a number per row.
    /// </summary>
    /// <param name="script">The script.</param>
    /// <param name="parameters">The parameters, each with its name and type.</param>
    /// <returns>The call.</returns>
    [SuppressMessage("Naming", "CA1711", Justification = "Qlik's name: ScriptEvalEx.")]
    public static SseScript EvalEx(string script, params SseParameter[] parameters) =>
        new(script, SseFunctionType.Tensor, SseDataType.Numeric, parameters);

    /// <summary><c>ScriptEvalExStr(types, script, ...)</c>: typed parameters, a text per row.</summary>
    /// <param name="script">The script.</param>
    /// <param name="parameters">The parameters, each with its name and type.</param>
    /// <returns>The call.</returns>
    public static SseScript EvalExStr(string script, params SseParameter[] parameters) =>
        new(script, SseFunctionType.Tensor, SseDataType.String, parameters);

    /// <summary><c>ScriptAggrEx(types, script, ...)</c>: typed parameters, one number for all rows.</summary>
    /// <param name="script">The script.</param>
    /// <param name="parameters">The parameters, each with its name and type.</param>
    /// <returns>The call.</returns>
    [SuppressMessage("Naming", "CA1711", Justification = "Qlik's name: ScriptAggrEx.")]
    public static SseScript AggrEx(string script, params SseParameter[] parameters) =>
        new(script, SseFunctionType.Aggregation, SseDataType.Numeric, parameters);

    /// <summary><c>ScriptAggrExStr(types, script, ...)</c>: typed parameters, one text for all rows.</summary>
    /// <param name="script">The script.</param>
    /// <param name="parameters">The parameters, each with its name and type.</param>
    /// <returns>The call.</returns>
    public static SseScript AggrExStr(string script, params SseParameter[] parameters) =>
        new(script, SseFunctionType.Aggregation, SseDataType.String, parameters);

    private static SseParameter[] Named(string[] names, SseDataType type) =>
        [.. names.Select(name => new SseParameter(name, type))];
}
