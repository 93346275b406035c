using Acornima.Ast;
using Acornima;
using Jint;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using SsePlugin.Server.Health;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Scripting;

namespace SsePlugin.JavaScript;

/// <summary>
/// JavaScript through Jint, a managed interpreter with no access to .NET unless granted (it is not). Each distinct
/// script is parsed once and kept in a bounded cache; each call runs in an engine of its own (a per-row script of plain
/// arithmetic needs none: <see cref="JsArithmetic"/>), and at most one script per processor runs at once
/// (<see cref="ScriptTurns"/>).
/// </summary>
internal sealed class JintScriptEngine(IOptions<JavaScriptOptions> options) : IScriptEngine, IDisposable
{
    private readonly JavaScriptOptions _options = options.Value;
    private readonly MemoryCache _scripts =
        new(new MemoryCacheOptions { SizeLimit = Math.Max(1, options.Value.ScriptCacheSize) });
    private readonly SemaphoreSlim _processors = new(Environment.ProcessorCount);

    public string Name => SseHealthTags.JavaScript;

    public FunctionInvoker Compile(ScriptDefinition definition) =>
        new JintInvoker(Prepare(definition.Script), definition, _options, _processors);

    public void Dispose()
    {
        _scripts.Dispose();
        _processors.Dispose();
    }

    /// <summary>
    /// The column, counted from 1, of a place Jint gives in the wrapped script: its first line starts after the block's
    /// brace.
    /// </summary>
    internal static int Column(int line, int column) => line == 1 ? column : column + 1;

    private Prepared<Script> Prepare(string script) =>
        _scripts.GetOrCreate(script, entry =>
        {
            entry.Size = 1;
            try
            {
                // A block keeps top-level let/const evaluable once per row and keeps the completion value.
                return Engine.PrepareScript("{" + script + "\n}", "script");
            }
            catch (ScriptPreparationException e) when (e.InnerException is ParseErrorException error)
            {
                // The wrapping block's closing brace sits on a line of its own after the script.
                var where = error.LineNumber > script.Split('\n').Length
                    ? "the script ends too early: an expression, bracket or quote is not finished"
                    : $"{error.Description} (line {error.LineNumber}, column {Column(error.LineNumber, error.Column)})";
                throw new CallFailure(CallFailureKind.InvalidInput, $"The script does not parse: {where}.");
            }
            catch (ScriptPreparationException e)
            {
                // Jint's other refusals of a script it parsed, such as expressions nested deeper than it prepares.
                throw new CallFailure(
                    CallFailureKind.InvalidInput,
                    $"The script cannot be prepared: {(e.InnerException ?? e).Message} Simplify it.");
            }
        });
}
