using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SsePlugin.Server.Health;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Scripting;

namespace SsePlugin.R;

/// <summary>
/// Runs scripts in R through Rserve, as Qlik's R plugin does: the call's columns become the data frame <c>q</c>,
/// the script's value becomes the answer.
/// </summary>
internal sealed class RScriptEngine(RservePool pool, IOptions<ROptions> options, ILogger<RScriptEngine> logger)
    : IScriptEngine
{
    public string Name => SseHealthTags.R;

    // R runs the script; nothing to prepare here. Windows line breaks are made plain so that R parses them.
    public FunctionInvoker Compile(ScriptDefinition definition) =>
        new RInvoker(
            definition with { Script = definition.Script.ReplaceLineEndings("\n") }, pool, options.Value, logger);
}
