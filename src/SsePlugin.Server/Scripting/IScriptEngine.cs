using SsePlugin.Server.Invocation;

namespace SsePlugin.Server.Scripting;

/// <summary>
/// A script language the host can run: Qlik's script functions and administrator-defined functions use it.
/// </summary>
internal interface IScriptEngine
{
    /// <summary>
    /// Gets the engine's name, as written in configuration and function files (e.g. <c>javascript</c>).
    /// </summary>
    string Name { get; }

    /// <summary>Prepares a script for calls of the given shape.</summary>
    /// <exception cref="CallFailure">The script cannot be used, e.g. it does not parse.</exception>
    FunctionInvoker Compile(ScriptDefinition definition);
}

/// <summary>A script and the shape of the calls it serves.</summary>
/// <param name="Script">The script text.</param>
/// <param name="FunctionType">Scalar, aggregation or tensor.</param>
/// <param name="ReturnType">The data type of the answer.</param>
/// <param name="Parameters">The parameters, in the order Qlik sends them.</param>
internal sealed record ScriptDefinition(
    string Script,
    SseFunctionType FunctionType,
    SseDataType ReturnType,
    IReadOnlyList<ParameterDefinition> Parameters);
