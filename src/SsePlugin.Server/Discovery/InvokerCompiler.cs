using System.Linq.Expressions;
using System.Reflection;
using SsePlugin.Server.Invocation;

namespace SsePlugin.Server.Discovery;

/// <summary>
/// Turns a classified method into an invoker: one compiled expression per function, built at start-up, so that
/// no call, and no row, goes through reflection.
/// </summary>
internal static class InvokerCompiler
{
    /// <summary>Compiles the invoker for a method of the given shape.</summary>
    /// <param name="method">The user's method.</param>
    /// <param name="target">The instance for an instance method; <see langword="null"/> for a static one.</param>
    /// <param name="arguments">The method's parameters, classified.</param>
    /// <param name="result">The method's return, classified.</param>
    /// <param name="shape">The shape it matched.</param>
    public static FunctionInvoker Compile(
        MethodInfo method,
        object? target,
        IReadOnlyList<ArgumentPlan> arguments,
        ResultPlan result,
        SignatureShape shape) =>
        shape.Invoker switch
        {
            InvokerKind.PerRow => new PerRowInvoker(CompileRowLoop(method, target, arguments, result)),
            InvokerKind.Streaming => new StreamingInvoker(CompileStreaming(method, target, arguments, result)),
            _ => new WholeCallInvoker(
                CompileWholeCall(method, target, arguments, result),
                shape.Input == InputKind.Stream,
                result.Kind switch
                {
                    ResultKind.Table => WholeCallInvoker.Answer.Table,
                    ResultKind.Column => WholeCallInvoker.Answer.Column,
                    _ => WholeCallInvoker.Answer.Value,
                }),
        };

    // start = output.Reserve(block.RowCount); for (i = 0; i < block.RowCount; i++) answers[start + i] =
    // target.Method(column0[i], ..., context);
    private static PerRowInvoker.RowLoop CompileRowLoop(
        MethodInfo method, object? target, IReadOnlyList<ArgumentPlan> arguments, ResultPlan result)
    {
        var block = Expression.Parameter(typeof(SseTable), "block");
        var output = Expression.Parameter(typeof(RowOutput), "output");
        var context = Expression.Parameter(typeof(SseCallContext), "context");
        var row = Expression.Variable(typeof(int), "row");
        var rowCount = Expression.Variable(typeof(int), "rowCount");
        var numbers = Expression.Variable(typeof(double[]), "answerNumbers");
        var strings = Expression.Variable(typeof(string[]), "answerStrings");
        var start = Expression.Variable(typeof(int), "start");
        var variables = new List<ParameterExpression> { row, rowCount, numbers, strings, start };
        var body = new List<Expression>
        {
            Expression.Assign(rowCount, Expression.Property(block, nameof(SseTable.RowCount))),
            Expression.Assign(start, Expression.Call(output, nameof(RowOutput.Reserve), null, rowCount)),
            Expression.Assign(numbers, Expression.Property(output, nameof(RowOutput.Numbers))),
            Expression.Assign(strings, Expression.Property(output, nameof(RowOutput.Strings))),
        };

        // Each data parameter reads its column's arrays once per block, then by index per row.
        var columnNumbers = new Dictionary<int, ParameterExpression>();
        var columnStrings = new Dictionary<int, ParameterExpression>();
        var columns = Expression.Property(block, nameof(SseTable.ColumnArray));
        foreach (var argument in arguments.Where(a => a.Kind == ArgumentKind.Value))
        {
            var column = Expression.ArrayIndex(columns, Expression.Constant(argument.DataIndex));
            if (argument.DataType != SseDataType.String)
            {
                var local = Expression.Variable(typeof(double[]), $"numbers{argument.DataIndex}");
                variables.Add(local);
                body.Add(Expression.Assign(local, Expression.Property(column, nameof(SseColumn.NumberArray))));
                columnNumbers[argument.DataIndex] = local;
            }

            if (argument.DataType != SseDataType.Numeric)
            {
                var local = Expression.Variable(typeof(string[]), $"strings{argument.DataIndex}");
                variables.Add(local);
                body.Add(Expression.Assign(local, Expression.Property(column, nameof(SseColumn.StringArray))));
                columnStrings[argument.DataIndex] = local;
            }
        }

        var call = CallMethod(method, target, arguments, context, (argument, _) => argument.DataType switch
        {
            SseDataType.Numeric => Expression.ArrayIndex(columnNumbers[argument.DataIndex], row),
            SseDataType.String => Expression.ArrayIndex(columnStrings[argument.DataIndex], row),
            _ => Expression.New(
                typeof(SseDual).GetConstructor([typeof(double), typeof(string)])!,
                Expression.ArrayIndex(columnNumbers[argument.DataIndex], row),
                Expression.ArrayIndex(columnStrings[argument.DataIndex], row)),
        });

        var at = Expression.Add(start, row);
        Expression store;
        switch (result.DataType)
        {
            case SseDataType.Numeric:
                store = Expression.Assign(Expression.ArrayAccess(numbers, at), call);
                break;
            case SseDataType.String:
                store = Expression.Assign(Expression.ArrayAccess(strings, at), call);
                break;
            default:
                var dual = Expression.Variable(typeof(SseDual), "answer");
                store = Expression.Block(
                    [dual],
                    Expression.Assign(dual, call),
                    Expression.Assign(
                        Expression.ArrayAccess(numbers, at), Expression.Property(dual, nameof(SseDual.Number))),
                    Expression.Assign(
                        Expression.ArrayAccess(strings, at), Expression.Property(dual, nameof(SseDual.Text))));
                break;
        }

        var end = Expression.Label("end");
        body.Add(Expression.Assign(row, Expression.Constant(0)));
        body.Add(Expression.Loop(
            Expression.IfThenElse(
                Expression.LessThan(row, rowCount),
                Expression.Block(store, Expression.PreIncrementAssign(row)),
                Expression.Break(end)),
            end));

        var loop = Expression.Block(variables, body);
        return Expression.Lambda<PerRowInvoker.RowLoop>(loop, block, output, context).Compile();
    }

    // data => ResultTables.From(target.Method((double[])data[0], ..., context)), awaited where the method is async.
    private static WholeCallInvoker.Run CompileWholeCall(
        MethodInfo method, object? target, IReadOnlyList<ArgumentPlan> arguments, ResultPlan result)
    {
        var data = Expression.Parameter(typeof(object?[]), "data");
        var context = Expression.Parameter(typeof(SseCallContext), "context");
        var call = CallMethod(
            method, target, arguments, context, (argument, type) => DataArgument(data, argument, type));
        var from = typeof(ResultTables).GetMethod(nameof(ResultTables.From), [result.Type])!;
        Expression body = result.Awaited switch
        {
            Awaited.No => Expression.New(
                typeof(ValueTask<SseTable>).GetConstructor([typeof(SseTable)])!, Expression.Call(from, call)),
            _ => Expression.Call(
                typeof(ResultTables),
                result.Awaited == Awaited.Task ? nameof(ResultTables.FromTask) : nameof(ResultTables.FromValueTask),
                [result.Type],
                call,
                Expression.Constant(
                    from.CreateDelegate(typeof(Func<,>).MakeGenericType(result.Type, typeof(SseTable))))),
        };

        return Expression.Lambda<WholeCallInvoker.Run>(body, data, context).Compile();
    }

    // (data, context, output) => StreamingInvoker.DrainAsync(target.Method((IAsyncEnumerable<SseRow>)data[0], ...),
    // output, RowOutput.Add, token)
    private static StreamingInvoker.Run CompileStreaming(
        MethodInfo method, object? target, IReadOnlyList<ArgumentPlan> arguments, ResultPlan result)
    {
        var data = Expression.Parameter(typeof(object?[]), "data");
        var context = Expression.Parameter(typeof(SseCallContext), "context");
        var output = Expression.Parameter(typeof(RowOutput), "output");
        var call = CallMethod(
            method, target, arguments, context, (argument, type) => DataArgument(data, argument, type));
        var add = typeof(RowOutput).GetMethod(nameof(RowOutput.Add), [result.Type])!
            .CreateDelegate(typeof(Action<,>).MakeGenericType(typeof(RowOutput), result.Type));
        var body = Expression.Call(
            typeof(StreamingInvoker),
            nameof(StreamingInvoker.DrainAsync),
            [result.Type],
            call,
            output,
            Expression.Constant(add),
            Expression.Property(context, nameof(SseCallContext.CancellationToken)));
        return Expression.Lambda<StreamingInvoker.Run>(body, data, context, output).Compile();
    }

    private static UnaryExpression DataArgument(ParameterExpression data, ArgumentPlan argument, Type type) =>
        Expression.Convert(Expression.ArrayIndex(data, Expression.Constant(argument.DataIndex)), type);

    private static MethodCallExpression CallMethod(
        MethodInfo method,
        object? target,
        IReadOnlyList<ArgumentPlan> arguments,
        ParameterExpression context,
        Func<ArgumentPlan, Type, Expression> dataArgument)
    {
        var parameters = method.GetParameters();
        var values = new Expression[arguments.Count];
        for (var i = 0; i < values.Length; i++)
        {
            var argument = arguments[i];
            values[i] = argument.Kind switch
            {
                ArgumentKind.Context => context,
                ArgumentKind.Cancellation => Expression.Property(context, nameof(SseCallContext.CancellationToken)),
                _ => dataArgument(argument, parameters[i].ParameterType),
            };
        }

        return target is null
            ? Expression.Call(method, values)
            : Expression.Call(Expression.Constant(target), method, values);
    }
}
