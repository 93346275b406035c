using Microsoft.Extensions.Options;
using SsePlugin.Server.Health;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Scripting;

namespace SsePlugin.Python;

/// <summary>
/// Runs scripts in CPython as Qlik's FullScriptSupport examples do: an expression is evaluated with <c>args</c>, a
/// script of statements is executed with the data frame <c>q</c> and answers <c>qResult</c>. Each call runs in a
/// Python process of its own; at most <see cref="PythonOptions.PoolSize"/> at once.
/// </summary>
internal sealed class PythonScriptEngine(PythonWorkers workers, IOptions<PythonOptions> options)
    : IScriptEngine, IDisposable
{
    private readonly SemaphoreSlim _turns = new(options.Value.Workers);

    public string Name => SseHealthTags.Python;

    // Python compiles the script in the call's process: its syntax errors come back as the call's error. Windows line
    // breaks are made plain, which Python's compile() requires of a string.
    public FunctionInvoker Compile(ScriptDefinition definition) =>
        new PythonInvoker(
            definition with { Script = definition.Script.ReplaceLineEndings("\n") }, workers, _turns, options.Value);

    public void Dispose() => _turns.Dispose();
}
