using SsePlugin.Server.Invocation;

namespace SsePlugin.Server.Scripting;

/// <summary>Turns the script of one call of Qlik's eight script functions into a function to run.</summary>
internal sealed class ScriptFunctions(IScriptEngine engine)
{
    /// <summary>Gets the engine that runs scripts from Qlik.</summary>
    public IScriptEngine Engine { get; } = engine;

    /// <summary>Prepares the call's script.</summary>
    /// <exception cref="CallFailure">The script cannot be used, e.g. it does not parse.</exception>
    public FunctionDefinition Resolve(ScriptDefinition definition)
    {
        var name = NameOf(definition);
        try
        {
            return new FunctionDefinition(
                -1,
                name,
                definition.FunctionType,
                definition.ReturnType,
                definition.Parameters,
                noCache: false,
                "script",
                Engine.Compile(definition));
        }
        catch (CallFailure e)
        {
            throw new CallFailure(e.Kind, $"{name}: {e.Message}");
        }
    }

    /// <summary>The Qlik script function a script stands for, e.g. <c>ScriptAggrExStr</c>, for messages and logs.
    /// </summary>
    public static string NameOf(ScriptDefinition definition)
    {
        var kind = definition.FunctionType == SseFunctionType.Aggregation ? "ScriptAggr" : "ScriptEval";
        var ex = definition.Parameters.Any(p => p.DataType != definition.ReturnType) ? "Ex" : string.Empty;
        var str = definition.ReturnType == SseDataType.String ? "Str" : string.Empty;
        return kind + ex + str;
    }
}
