using Grpc.Core;
using SsePlugin.Rserve;
using SsePlugin.Server.Invocation;

namespace SsePlugin.Server.Scripting.R;

/// <summary>
/// Runs one R script for one call: reads every row, assigns them as <c>q</c> in a session of the pool, evaluates
/// the script in an environment of this call only and sends back what it returns.
/// </summary>
internal sealed class RInvoker(ScriptDefinition definition, RservePool pool, ROptions options) : FunctionInvoker
{
    private readonly RStringVector _script = new([definition.Script]);

    public override async Task InvokeAsync(FunctionCall call)
    {
        var table = await call.ReadAllAsync().ConfigureAwait(false);
        var callData = new RList([RData.Frame(table, definition.Parameters), _script])
        {
            Attributes = [new("names", new RStringVector(["q", "script"]))],
        };

        var name = call.Function.Name;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(call.Context.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(options.TimeoutSeconds));
        RSession? session = null;
        RValue value;
        try
        {
            session = await pool.RentAsync(deadline.Token).ConfigureAwait(false);

            // Time spent queued for a session is not the script's: its R work gets the whole limit.
            deadline.CancelAfter(TimeSpan.FromSeconds(options.TimeoutSeconds));
            await session.Connection.AssignAsync(".sse.call", callData, deadline.Token).ConfigureAwait(false);
            value = await session.Connection.EvalAsync(".sse$run()", deadline.Token).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            throw new SseCallException(StatusCode.InvalidArgument, $"{name}: the data cannot be given to R: {e.Message}");
        }
        catch (Exception e) when (e is OperationCanceledException or RserveException or IOException)
        {
            session?.Abandon();
            throw e switch
            {
                OperationCanceledException when call.Context.CancellationToken.IsCancellationRequested => new OperationCanceledException(call.Context.CancellationToken),
                OperationCanceledException when session is null => new SseCallException(
                    StatusCode.DeadlineExceeded,
                    $"{name}: no R session became free or could be opened within the {options.TimeoutSeconds:0.#} s allowed per call "
                    + $"({options.Sessions} sessions, SsePlugin:Rserve:PoolSize; a slow InitScript counts too)."),
                OperationCanceledException => new SseCallException(
                    StatusCode.DeadlineExceeded,
                    $"{name}: the R script ran longer than the {options.TimeoutSeconds:0.#} s allowed per call (SsePlugin:Rserve:TimeoutSeconds); it was stopped."),
                _ => new SseCallException(StatusCode.Unavailable, $"{name}: the R session failed: {e.Message} The next call gets a new session."),
            };
        }
        finally
        {
            if (session is not null)
            {
                pool.Return(session);
            }
        }

        if (value.Inherits("sse.error"))
        {
            throw new SseCallException(StatusCode.InvalidArgument, $"{name}: R error: {((RStringVector)value).Values[0]}");
        }

        var (columns, rows, description) = RData.Answer(value, definition, call.RowsRead, name);
        await call.Response.WriteAsync(columns, rows, description).ConfigureAwait(false);
    }
}
