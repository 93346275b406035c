using Acornima.Ast;
using Grpc.Core;
using Jint;
using Jint.Native;
using Jint.Native.Function;
using Jint.Runtime;
using SsePlugin.Server.Invocation;

namespace SsePlugin.Server.Scripting.JavaScript;

/// <summary>
/// Runs one script for one call shape. Scalar and tensor scripts are evaluated once per row with <c>args</c> holding
/// the row; a script that evaluates to a function is called once with <c>q</c>, the whole table. Aggregation
/// scripts see whole columns in <c>args</c> (and <c>q</c>).
/// </summary>
internal sealed class JintInvoker(Prepared<Script> script, ScriptDefinition definition, JavaScriptOptions options) : FunctionInvoker
{
    public override async Task InvokeAsync(FunctionCall call)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(call.Context.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(options.TimeoutSeconds));
        using var engine = new Engine(o =>
        {
            o.LimitMemory(options.MemoryLimitMegabytes * 1024L * 1024L);
            o.LimitRecursion(options.MaxRecursionDepth);
            o.MaxStatements(options.MaxStatements);
            o.CancellationToken(deadline.Token);
            o.DisableStringCompilation();
            o.Constraints.StackOverflowGuard = true;
        });
        try
        {
            if (definition.FunctionType == SseFunctionType.Aggregation)
            {
                await AggregateAsync(engine, call, deadline.Token).ConfigureAwait(false);
            }
            else
            {
                await EvaluateRowsAsync(engine, call, deadline.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (Describe(e, call, deadline.Token) is { } failure)
        {
            throw failure;
        }
    }

    private async Task EvaluateRowsAsync(Engine engine, FunctionCall call, CancellationToken deadline)
    {
        if (await call.ReadBlockAsync().ConfigureAwait(false) is not { } block)
        {
            return;
        }

        var row = new JsRow(engine, definition.Parameters);
        row.Load(block, 0);
        var first = Settle(engine.Evaluate(script), deadline);
        if (first is Function function)
        {
            var table = await call.ReadAllAsync(block).ConfigureAwait(false);
            var answer = JsValues.ToTable(Settle(Call(engine, function, table), deadline), definition.ReturnType, $"{call.Function.Name}'s function");
            if (answer.Description is null && answer.Table.RowCount != table.RowCount)
            {
                throw new SseCallException(
                    StatusCode.InvalidArgument,
                    $"{call.Function.Name}: the script's function answered {answer.Table.RowCount} values for {table.RowCount} rows; return one value per row.");
            }

            await call.Response.WriteAsync(answer.Table.ColumnArray, answer.Table.RowCount, answer.Description).ConfigureAwait(false);
            return;
        }

        var output = new RowOutput(definition.ReturnType, call.Response);
        JsValues.Store(first, output, output.Reserve(1), definition.ReturnType);
        for (var from = 1; block is not null; from = 0, block = await call.ReadBlockAsync(output).ConfigureAwait(false))
        {
            var start = output.Reserve(block.RowCount - from) - from;
            for (var i = from; i < block.RowCount; i++)
            {
                row.Load(block, i);
                JsValues.Store(Settle(engine.Evaluate(script), deadline), output, start + i, definition.ReturnType);
            }

            await output.FlushIfFullAsync().ConfigureAwait(false);
        }

        await output.FlushAsync().ConfigureAwait(false);
    }

    private async Task AggregateAsync(Engine engine, FunctionCall call, CancellationToken deadline)
    {
        var table = await call.ReadAllAsync().ConfigureAwait(false);
        var q = JsColumns.Load(engine, table);
        var value = Settle(engine.Evaluate(script), deadline);
        if (value is Function function)
        {
            value = Settle(engine.Call(function, JsValue.Undefined, [q]), deadline);
        }

        var answer = JsValues.ToTable(value, definition.ReturnType, call.Function.Name);
        if (answer.Description is null && answer.Table.RowCount != 1)
        {
            throw new SseCallException(
                StatusCode.InvalidArgument,
                $"{call.Function.Name}: the script answered {answer.Table.RowCount} values; an aggregation answers one value (or an object of columns for LOAD ... EXTENSION).");
        }

        await call.Response.WriteAsync(answer.Table.ColumnArray, answer.Table.RowCount, answer.Description).ConfigureAwait(false);
    }

    /// <summary>What an <c>async</c> function or a promise settles to; a rejection throws the script's error.</summary>
    private static JsValue Settle(JsValue value, CancellationToken deadline) => value.IsPromise() ? value.UnwrapIfPromise(deadline) : value;

    private static JsValue Call(Engine engine, Function function, SseTable table) =>
        engine.Call(function, JsValue.Undefined, [JsColumns.Load(engine, table)]);

    /// <summary>Says what went wrong in words a Qlik author can act on, or returns null for errors that are not the script's.</summary>
    private Exception? Describe(Exception exception, FunctionCall call, CancellationToken deadline)
    {
        var name = call.Function.Name;
        return exception switch
        {
            ExecutionCanceledException or OperationCanceledException when call.Context.CancellationToken.IsCancellationRequested =>
                new OperationCanceledException(call.Context.CancellationToken),
            ExecutionCanceledException or OperationCanceledException when deadline.IsCancellationRequested =>
                new SseCallException(StatusCode.DeadlineExceeded, $"{name}: the script ran longer than the {options.TimeoutSeconds:0.#} s allowed per call (SsePlugin:JavaScript:TimeoutSeconds)."),
            MemoryLimitExceededException =>
                new SseCallException(StatusCode.ResourceExhausted, $"{name}: the script allocated more than the {options.MemoryLimitMegabytes} MB allowed per evaluation (SsePlugin:JavaScript:MemoryLimitMegabytes)."),
            RecursionDepthOverflowException =>
                new SseCallException(StatusCode.ResourceExhausted, $"{name}: the script's calls nest deeper than the {options.MaxRecursionDepth} allowed (SsePlugin:JavaScript:MaxRecursionDepth)."),
            StatementsCountOverflowException =>
                new SseCallException(StatusCode.ResourceExhausted, $"{name}: the script ran more than the {options.MaxStatements} statements allowed per evaluation (SsePlugin:JavaScript:MaxStatements)."),
            JavaScriptException e =>
                new SseCallException(StatusCode.InvalidArgument, $"{name}: the script failed: {e.Message}{Where(e)}"),
            // Errors of the engine's own, such as a rejected promise or a value that cannot become text.
            JintException e =>
                new SseCallException(StatusCode.InvalidArgument, $"{name}: the script failed: {e.Message}"),
            _ => null,
        };
    }

    private static string Where(JavaScriptException exception) =>
        exception.Location.Start.Line > 0 ? $" (line {exception.Location.Start.Line}, column {exception.Location.Start.Column + 1})" : string.Empty;
}
