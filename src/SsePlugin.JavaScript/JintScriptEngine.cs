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
/// script is parsed once and kept in a bounded cache, and so is what it compiles to for a call shape; each call runs in
/// an engine of its own (a script of one pure expression computed row by row needs none: <see cref="JsCompiler"/>),
/// and at most one script per processor runs at once (<see cref="ScriptTurns"/>).
/// </summary>
internal sealed class JintScriptEngine(IOptions<JavaScriptOptions> options) : IScriptEngine, IDisposable
{
    private readonly JavaScriptOptions _options = options.Value;
    private readonly MemoryCache _scripts =
        new(new MemoryCacheOptions { SizeLimit = Math.Max(1, options.Value.ScriptCacheSize) });
    private readonly SemaphoreSlim _processors = new(Environment.ProcessorCount);

    public string Name => SseHealthTags.JavaScript;

    public FunctionInvoker Compile(ScriptDefinition definition)
    {
        var script = Prepare(definition.Script);
        return new JintInvoker(script, Compiled(script, definition), definition, _options, _processors);
    }

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

    // Compiling takes longer than a small call: the same script for the same call shape is compiled once.
    private JsRowAnswer? Compiled(Prepared<Script> script, ScriptDefinition definition) =>
        _scripts.GetOrCreate(new CallShape(definition), entry =>
        {
            entry.Size = 1;
            return new CompiledScript(JsCompiler.Compile(script.Program, definition));
        })!.Answer;

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

    /// <summary>A script and the call shape it is compiled for: its parameters and its answer's type.</summary>
    private sealed record CallShape(string Script, SseFunctionType Type, SseDataType ReturnType, string Parameters)
    {
        public CallShape(ScriptDefinition definition)
            : this(
                definition.Script,
                definition.FunctionType,
                definition.ReturnType,
                string.Concat(definition.Parameters.Select(p => $"{(int)p.DataType},{p.Name.Length}:{p.Name}")))
        {
        }
    }

    /// <summary>What a script compiles to: null when it runs in Jint.</summary>
    private sealed record CompiledScript(JsRowAnswer? Answer);
}
