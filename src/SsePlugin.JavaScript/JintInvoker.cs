using System.Text.RegularExpressions;
using Acornima.Ast;
using Jint;
using Jint.Native;
using Jint.Native.Function;
using Jint.Runtime;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Scripting;

namespace SsePlugin.JavaScript;

/// <summary>
/// Runs one script for one call shape. Scalar and tensor scripts are evaluated once per row with <c>args</c> holding
/// the row; a script that evaluates to a function is called once with <c>q</c>, the whole table. Aggregation
/// scripts see whole columns in <c>args</c> (and <c>q</c>). A script of one pure expression, computed row by row, runs
/// compiled instead (<see cref="JsCompiler"/>).
/// </summary>
/// <param name="script">The prepared script.</param>
/// <param name="compiled">The script compiled, if it is one pure expression; null to run it in Jint.</param>
/// <param name="definition">The script's call shape.</param>
/// <param name="options">The engine's limits.</param>
/// <param name="processors">The processors scripts take turns on.</param>
internal sealed class JintInvoker(
    Prepared<Script> script,
    JsRowAnswer? compiled,
    ScriptDefinition definition,
    JavaScriptOptions options,
    SemaphoreSlim processors)
    : FunctionInvoker
{
    // A regular expression cannot be interrupted while it matches, so each match gets at most this long: a call ends
    // within about this much after its time is up or Qlik cancels it.
    private const double RegexSeconds = 1;

    // Atomics.wait blocks its thread where no limit or cancellation can end it, and shared memory serves nothing else
    // in a single-threaded engine. A ShadowRealm cannot run code without eval or modules, both unavailable, and failed
    // with an error of .NET's own.
    private static readonly string[] Withheld = ["SharedArrayBuffer", "Atomics", "ShadowRealm"];

    // Scripts have no timers or I/O: a promise still pending once its continuations have run never settles.
    private static readonly TimeSpan NeverSettles = TimeSpan.FromMilliseconds(1);

    public override async Task InvokeAsync(FunctionCall call)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(call.Context.CancellationToken);
        var turns = new ScriptTurns(processors, deadline, TimeSpan.FromSeconds(options.TimeoutSeconds));
        try
        {
            if (compiled is not null)
            {
                await ComputeRowsAsync(compiled, turns, call, deadline.Token).ConfigureAwait(false);
            }
            else
            {
                await RunAsync(turns, call, deadline.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (Describe(e, call, deadline.Token) is { } failure)
        {
            throw failure;
        }
    }

    private async Task RunAsync(ScriptTurns turns, FunctionCall call, CancellationToken deadline)
    {
        using var engine = new Engine(o =>
        {
            o.LimitMemory(options.MemoryLimitMegabytes * 1024L * 1024L);
            o.LimitRecursion(options.MaxRecursionDepth);
            o.MaxStatements(options.MaxStatements);
            // Jint's own check, every 64 statements, also ends its waits; ours ends the script at the next statement.
            o.CancellationToken(deadline);
            o.Constraint(new CallCancellation(deadline));
            o.Constraints.RegexTimeout = TimeSpan.FromSeconds(Math.Min(RegexSeconds, options.TimeoutSeconds));
            o.DisableStringCompilation();
            o.Constraints.StackOverflowGuard = true;
        });
        foreach (var name in Withheld)
        {
            engine.Global.RemoveOwnProperty(name);
        }

        RegExpChecks.Install(engine, deadline);

        if (definition.FunctionType == SseFunctionType.Aggregation)
        {
            await AggregateAsync(engine, turns, call).ConfigureAwait(false);
        }
        else
        {
            await EvaluateRowsAsync(engine, turns, call).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Answers each row with the compiled script, in turns as scripts run, and stops at the row at which the call runs
    /// out of time or is cancelled.
    /// </summary>
    private async Task ComputeRowsAsync(
        JsRowAnswer answer, ScriptTurns turns, FunctionCall call, CancellationToken deadline)
    {
        var output = new RowOutput(definition.ReturnType, call.Response);
        var index = 0;
        while (await call.ReadTransientBlockAsync().ConfigureAwait(false) is { } rows)
        {
            var start = output.Reserve(rows.RowCount);
            using (await turns.TakeAsync(call.Context.CancellationToken).ConfigureAwait(false))
            {
                var columns = rows.ColumnArray;
                var (numbers, texts) = (output.Numbers, output.Strings);
                for (var i = 0; i < rows.RowCount; i++)
                {
                    deadline.ThrowIfCancellationRequested();
                    answer(columns, i, index++, numbers, texts, start + i);
                }
            }

            await output.FlushIfFullAsync().ConfigureAwait(false);
        }

        await output.FlushAsync().ConfigureAwait(false);
    }

    private async Task EvaluateRowsAsync(Engine engine, ScriptTurns turns, FunctionCall call)
    {
        var cancellation = call.Context.CancellationToken;
        if (await call.ReadBlockAsync().ConfigureAwait(false) is not { } block)
        {
            // With no rows a script that is a function still gets its (empty) table, so that a table it returns is
            // described for LOAD ... EXTENSION; a per-row script has nothing to answer.
            if (await FunctionWithoutRowsAsync(engine, turns, cancellation).ConfigureAwait(false) is { } whole)
            {
                var table = await call.ReadAllAsync().ConfigureAwait(false);
                await AnswerWholeTableAsync(engine, turns, call, whole, table).ConfigureAwait(false);
            }

            return;
        }

        var row = new JsRow(engine, definition.Parameters);
        JsValue first;
        using (await turns.TakeAsync(cancellation).ConfigureAwait(false))
        {
            row.Load(block.Rows, 0);
            first = Settle(engine.Evaluate(script));
        }

        if (first is Function function)
        {
            var table = await call.ReadAllAsync(block).ConfigureAwait(false);
            await AnswerWholeTableAsync(engine, turns, call, function, table).ConfigureAwait(false);
            return;
        }

        var output = new RowOutput(definition.ReturnType, call.Response);
        JsValues.Store(first, output, output.Reserve(1), definition.ReturnType);
        for (var from = 1; block is not null; from = 0, block = await call.ReadBlockAsync().ConfigureAwait(false))
        {
            var rows = block.Rows;
            if (rows.RowCount == from)
            {
                continue;
            }

            var start = output.Reserve(rows.RowCount - from) - from;
            using (await turns.TakeAsync(cancellation).ConfigureAwait(false))
            {
                for (var i = from; i < rows.RowCount; i++)
                {
                    row.Load(rows, i);
                    JsValues.Store(Settle(engine.Evaluate(script)), output, start + i, definition.ReturnType);
                }
            }

            await output.FlushIfFullAsync().ConfigureAwait(false);
        }

        await output.FlushAsync().ConfigureAwait(false);
    }

    private async Task<Function?> FunctionWithoutRowsAsync(
        Engine engine, ScriptTurns turns, CancellationToken cancellation)
    {
        using (await turns.TakeAsync(cancellation).ConfigureAwait(false))
        {
            engine.SetValue("args", new JsArray(engine));
            try
            {
                return Settle(engine.Evaluate(script)) as Function;
            }
            catch (JintException e) when (e is not ExecutionCanceledException)
            {
                // A per-row script that needs a row's values: it has nothing to answer.
                return null;
            }
        }
    }

    private async Task AnswerWholeTableAsync(
        Engine engine, ScriptTurns turns, FunctionCall call, Function function, SseTable table)
    {
        (SseTable Table, SseTable? Description) answer;
        using (await turns.TakeAsync(call.Context.CancellationToken).ConfigureAwait(false))
        {
            var value = Settle(Call(engine, function, table));
            answer = JsValues.ToTable(value, definition.ReturnType, $"{call.Function.Name}'s function");
        }

        if (answer.Description is null && answer.Table.RowCount != table.RowCount)
        {
            throw new CallFailure(
                CallFailureKind.InvalidInput,
                $"{call.Function.Name}: the script's function answered {Values(answer.Table.RowCount)} for "
                + $"{table.RowCount} rows; return one value per row.");
        }

        await call.Response.WriteAsync(answer.Table.ColumnArray, answer.Table.RowCount, answer.Description)
            .ConfigureAwait(false);
    }

    private async Task AggregateAsync(Engine engine, ScriptTurns turns, FunctionCall call)
    {
        var table = await call.ReadAllAsync().ConfigureAwait(false);
        (SseTable Table, SseTable? Description) answer;
        using (await turns.TakeAsync(call.Context.CancellationToken).ConfigureAwait(false))
        {
            var q = JsColumns.Load(engine, table);
            var value = Settle(engine.Evaluate(script));
            if (value is Function function)
            {
                value = Settle(engine.Call(function, JsValue.Undefined, [q]));
            }

            answer = JsValues.ToTable(value, definition.ReturnType, call.Function.Name);
        }

        if (answer.Description is null && answer.Table.RowCount != 1)
        {
            throw new CallFailure(
                CallFailureKind.InvalidInput,
                $"{call.Function.Name}: the script answered {Values(answer.Table.RowCount)}; an aggregation "
                + "answers one value (or an object of columns for LOAD ... EXTENSION).");
        }

        await call.Response.WriteAsync(answer.Table.ColumnArray, answer.Table.RowCount, answer.Description)
            .ConfigureAwait(false);
    }

    /// <summary>What an <c>async</c> function or a promise settles to; a rejection throws the script's error.</summary>
    private static JsValue Settle(JsValue value) => value.IsPromise() ? value.UnwrapIfPromise(NeverSettles) : value;

    private static string Values(int count) => count == 1 ? "1 value" : $"{count} values";

    private static JsValue Call(Engine engine, Function function, SseTable table) =>
        engine.Call(function, JsValue.Undefined, [JsColumns.Load(engine, table)]);

    /// <summary>
    /// Says what went wrong in words a Qlik author can act on, or returns null for errors that are not the script's.
    /// </summary>
    private CallFailure? Describe(Exception exception, FunctionCall call, CancellationToken deadline)
    {
        var name = call.Function.Name;
        return exception switch
        {
            // A cancelled call's failure, whatever it is (a script stopped, a write to a call already over), is the
            // transport's to report: it knows why the call was cancelled.
            _ when call.Context.CancellationToken.IsCancellationRequested => null,
            ExecutionCanceledException or OperationCanceledException when deadline.IsCancellationRequested =>
                new CallFailure(
                    CallFailureKind.TimeLimitExceeded,
                    $"{name}: the script ran longer than the {options.TimeoutSeconds:0.#} s allowed per call "
                    + "(SsePlugin:JavaScript:TimeoutSeconds; time waiting for rows does not count)."),
            MemoryLimitExceededException =>
                new CallFailure(
                    CallFailureKind.LimitExceeded,
                    $"{name}: the script allocated more than the {options.MemoryLimitMegabytes} MB allowed per "
                    + "evaluation (SsePlugin:JavaScript:MemoryLimitMegabytes)."),
            RecursionDepthOverflowException =>
                new CallFailure(
                    CallFailureKind.LimitExceeded,
                    $"{name}: the script's calls nest deeper than the {options.MaxRecursionDepth} allowed "
                    + "(SsePlugin:JavaScript:MaxRecursionDepth)."),
            StatementsCountOverflowException =>
                new CallFailure(
                    CallFailureKind.LimitExceeded,
                    $"{name}: the script ran more than the {options.MaxStatements} statements allowed per evaluation "
                    + "(SsePlugin:JavaScript:MaxStatements)."),
            PromiseRejectedException { RejectedValue: JsString reason }
                when reason.ToString().StartsWith("Timeout of", StringComparison.Ordinal) =>
                new CallFailure(
                    CallFailureKind.InvalidInput,
                    $"{name}: the script's promise never settles: scripts have no timers or I/O, so a promise still "
                    + "pending when the script ends stays pending."),
            RegexMatchTimeoutException =>
                new CallFailure(
                    CallFailureKind.TimeLimitExceeded,
                    $"{name}: a regular expression in the script ran longer than the "
                    + $"{Math.Min(RegexSeconds, options.TimeoutSeconds):0.##} s allowed per match; "
                    + "simplify it (nested repetition such as (a+)+ can take exponential time)."),
            OutOfMemoryException e =>
                new CallFailure(
                    CallFailureKind.LimitExceeded,
                    $"{name}: the host ran out of memory while the script ran. What a per-row script keeps from one "
                    + "row to the next adds up; "
                    + "SsePlugin:JavaScript:MemoryLimitMegabytes limits each evaluation only.",
                    e),
            // Jint reads a thrown object's message as it is thrown; a getter or proxy trap that throws leaves it empty.
            JavaScriptException { Message.Length: 0 } e =>
                new CallFailure(
                    CallFailureKind.InvalidInput,
                    $"{name}: the script threw a value with no message to show{Where(e)}; "
                    + "throw an Error that says what went wrong, e.g. throw new Error('...')."),
            JavaScriptException e =>
                new CallFailure(CallFailureKind.InvalidInput, $"{name}: the script failed: {e.Message}{Where(e)}"),
            // Errors of the engine's own, such as a rejected promise or a value that cannot become text.
            JintException e =>
                new CallFailure(CallFailureKind.InvalidInput, $"{name}: the script failed: {e.Message}"),
            _ => null,
        };
    }

    private static string Where(JavaScriptException exception) =>
        exception.Location.Start is { Line: > 0 } start
            ? $" (line {start.Line}, column {JintScriptEngine.Column(start.Line, start.Column)})"
            : string.Empty;
}
