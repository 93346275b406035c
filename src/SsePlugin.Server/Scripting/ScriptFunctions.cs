using Grpc.Core;
using Qlik.Sse;
using SsePlugin.Server.Invocation;

namespace SsePlugin.Server.Scripting;

/// <summary>Turns a <c>ScriptRequestHeader</c> into a function for one call of Qlik's eight script functions.</summary>
internal sealed class ScriptFunctions(IScriptEngine engine)
{
    /// <summary>Gets the engine that runs scripts from Qlik.</summary>
    public IScriptEngine Engine { get; } = engine;

    /// <summary>Prepares the call's script.</summary>
    public SseFunction Resolve(ScriptRequestHeader header)
    {
        var parameters = new SseParameter[header.Params.Count];
        for (var i = 0; i < parameters.Length; i++)
        {
            var parameter = header.Params[i];
            if (!Enum.IsDefined(parameter.DataType))
            {
                throw new SseCallException(
                    StatusCode.InvalidArgument,
                    $"The script header gives parameter '{parameter.Name}' the data type {(int)parameter.DataType}; Qlik's are 0 (string), 1 (numeric) and 2 (dual).");
            }

            parameters[i] = new SseParameter(parameter.Name.Length == 0 ? $"arg{i}" : parameter.Name, (SseDataType)parameter.DataType);
        }

        var definition = new ScriptDefinition(header.Script, (SseFunctionType)header.FunctionType, (SseDataType)header.ReturnType, parameters);
        if (!Enum.IsDefined(definition.FunctionType) || !Enum.IsDefined(definition.ReturnType))
        {
            throw new SseCallException(StatusCode.InvalidArgument, $"The script header has function type {header.FunctionType} and return type {header.ReturnType}; one of them is unknown.");
        }

        var name = NameOf(definition);
        try
        {
            return new SseFunction(-1, name, definition.FunctionType, definition.ReturnType, parameters, noCache: false, "script", Engine.Compile(definition));
        }
        catch (SseCallException e)
        {
            throw new SseCallException(e.StatusCode, $"{name}: {e.Message}");
        }
    }

    /// <summary>The Qlik script function a header stands for, e.g. <c>ScriptAggrExStr</c>, for messages and logs.</summary>
    public static string NameOf(ScriptDefinition definition)
    {
        var kind = definition.FunctionType == SseFunctionType.Aggregation ? "ScriptAggr" : "ScriptEval";
        var ex = definition.Parameters.Any(p => p.DataType != definition.ReturnType) ? "Ex" : string.Empty;
        var str = definition.ReturnType == SseDataType.String ? "Str" : string.Empty;
        return kind + ex + str;
    }
}
