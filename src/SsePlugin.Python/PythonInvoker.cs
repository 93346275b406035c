using SsePlugin.Server.Invocation;
using SsePlugin.Server.Scripting;

namespace SsePlugin.Python;

/// <summary>
/// Runs one Python script for one call: reads every row, sends them to a Python process of the call's own, and sends
/// back what the script answers. The time limit and Qlik's cancellation end that process at once.
/// </summary>
internal sealed class PythonInvoker(
    ScriptDefinition definition, PythonWorkers workers, SemaphoreSlim turns, PythonOptions options)
    : FunctionInvoker
{
    public override async Task InvokeAsync(FunctionCall call)
    {
        var table = await call.ReadAllAsync().ConfigureAwait(false);
        var name = call.Function.Name;
        var timeout = TimeSpan.FromSeconds(options.TimeoutSeconds);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(call.Context.CancellationToken);
        deadline.CancelAfter(timeout);
        var turn = false;
        PythonProcess? process = null;
        PythonAnswer answer;
        try
        {
            await turns.WaitAsync(deadline.Token).ConfigureAwait(false);
            turn = true;

            // Time spent waiting for a turn is not the script's: it gets the whole limit.
            deadline.CancelAfter(timeout);
            process = await workers.OpenAsync(deadline.Token).ConfigureAwait(false);
            await using var ending = deadline.Token.Register(process.End).ConfigureAwait(false);
            await PythonWire.WriteCallAsync(
                process.Input,
                definition,
                table,
                MemoryLimited ? options.MemoryLimitMegabytes * 1024L * 1024 : 0,
                OperatingSystem.IsWindows() ? 0 : options.ProcessLimit,
                process.NamespaceUser,
                deadline.Token).ConfigureAwait(false);
            answer = await PythonWire.ReadAnswerAsync(process.Output, deadline.Token).ConfigureAwait(false);
        }
        catch (PythonWorkerException e)
        {
            throw new CallFailure(CallFailureKind.EngineMisconfigured, $"{name}: {e.Message}");
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or EndOfStreamException)
        {
            if (call.Context.CancellationToken.IsCancellationRequested)
            {
                // The call was cancelled: the transport, which knows why, reports it.
                throw;
            }

            throw deadline.IsCancellationRequested
                ? new CallFailure(
                    CallFailureKind.TimeLimitExceeded,
                    process is null && !turn
                        ? $"{name}: no Python worker became free within the {options.TimeoutSeconds:0.#} s allowed per "
                            + $"call ({options.Workers} at once, {PythonOptions.Section}:PoolSize)."
                        : $"{name}: the Python script ran longer than the {options.TimeoutSeconds:0.#} s allowed per "
                            + $"call ({PythonOptions.Section}:TimeoutSeconds); its process was ended.")
                : new CallFailure(
                    CallFailureKind.Unavailable,
                    process is null
                        ? $"{name}: the Python worker cannot be reached: {e.Message} The host starts it again; retry."
                        : $"{name}: the Python process of the call ended before it answered"
                            + (MemoryLimited
                                ? $", perhaps for want of memory ({options.MemoryLimitMegabytes} MB, "
                                    + $"{PythonOptions.Section}:MemoryLimitMegabytes)."
                                : "."));
        }
        finally
        {
            if (process is not null)
            {
                await process.DisposeAsync().ConfigureAwait(false);
            }

            if (turn)
            {
                turns.Release();
            }
        }

        await WriteAsync(call, answer, name).ConfigureAwait(false);
    }

    // The memory limit applies where the worker can set it (not on Windows).
    private bool MemoryLimited => !OperatingSystem.IsWindows() && options.MemoryLimitMegabytes > 0;

    private async Task WriteAsync(FunctionCall call, PythonAnswer answer, string name)
    {
        switch (answer.Status)
        {
            case PythonStatus.NotConfined:
                throw new CallFailure(
                    CallFailureKind.EngineMisconfigured,
                    $"{name}: {answer.Message}. Let the host make user namespaces, or set "
                    + $"{PythonOptions.Section}:IsolationIdBase to 0 to run every call as one account.");
            case PythonStatus.ScriptError:
                throw new CallFailure(CallFailureKind.InvalidInput, $"{name}: {answer.Message}");
            case PythonStatus.OutOfMemory:
                throw new CallFailure(
                    CallFailureKind.LimitExceeded,
                    MemoryLimited
                        ? $"{name}: the Python script needs more memory than the {options.MemoryLimitMegabytes} MB a "
                            + $"call may use ({PythonOptions.Section}:MemoryLimitMegabytes); raise it or give the "
                            + "script less data (Python error: MemoryError)."
                        : $"{name}: Python ran out of memory; give the script less data (Python error: MemoryError).");
        }

        if (answer.Columns.Length == 0)
        {
            throw new CallFailure(
                CallFailureKind.InvalidInput, $"{name}: the Python script returned a table without columns.");
        }

        if (definition.FunctionType == SseFunctionType.Aggregation && !answer.Described && answer.Rows != 1)
        {
            throw new CallFailure(
                CallFailureKind.InvalidInput,
                $"{name}: the Python script returned {answer.Rows} values; an aggregation returns one value.");
        }

        var description = answer.Described ? new SseTable(answer.Columns) { Name = answer.TableName } : null;
        await call.Response.WriteAsync(answer.Columns, answer.Rows, description).ConfigureAwait(false);
    }
}
