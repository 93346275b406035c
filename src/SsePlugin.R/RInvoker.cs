using Microsoft.Extensions.Logging;
using SsePlugin.Rserve;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Scripting;

namespace SsePlugin.R;

/// <summary>
/// Runs one R script for one call: reads every row, assigns them as <c>q</c> in a session of the pool, evaluates
/// the script in an environment of this call only and sends back what it returns.
/// </summary>
internal sealed partial class RInvoker(ScriptDefinition definition, RservePool pool, ROptions options, ILogger logger)
    : FunctionInvoker
{
    // Rserve's replies when it cannot allocate the buffer for an answer (ERR_object_too_big, ERR_out_of_mem).
    private const int ObjectTooBig = 0x4C;
    private const int OutOfMemoryStatus = 0x4D;

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
        var assigning = false;
        RValue value;
        try
        {
            session = await pool.RentAsync(deadline.Token).ConfigureAwait(false);

            // Time spent queued for a session is not the script's: its R work gets the whole limit.
            deadline.CancelAfter(TimeSpan.FromSeconds(options.TimeoutSeconds));
            if (options.RserveOS is null)
            {
                await LearnRserveOSAsync(session, deadline.Token).ConfigureAwait(false);
            }

            assigning = true;
            await session.Connection.AssignAsync(".sse.call", callData, deadline.Token).ConfigureAwait(false);
            assigning = false;

            // A reused session is put back as the init script left it after each call; a fresh one ends with it.
            var run = options.FreshProcesses ? ".sse$run(FALSE)" : ".sse$run(TRUE)";
            value = await session.Connection.EvalAsync(run, deadline.Token).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            throw new CallFailure(CallFailureKind.InvalidInput, $"{name}: the data cannot be given to R: {e.Message}");
        }
        catch (Exception e) when (e is OperationCanceledException or RserveException or IOException)
        {
            session?.Close();
            if (call.Context.CancellationToken.IsCancellationRequested)
            {
                // The call was cancelled: the transport, which knows why, reports it.
                throw;
            }

            throw e switch
            {
                OperationCanceledException when session is null => new CallFailure(
                    CallFailureKind.TimeLimitExceeded,
                    $"{name}: no R session became free or could be opened within the {options.TimeoutSeconds:0.#} s "
                    + "allowed per call "
                    + $"({options.Sessions} sessions, SsePlugin:Rserve:PoolSize; a slow InitScript counts too)."),
                OperationCanceledException => new CallFailure(
                    CallFailureKind.TimeLimitExceeded,
                    $"{name}: the R script ran longer than the {options.TimeoutSeconds:0.#} s allowed per call "
                    + "(SsePlugin:Rserve:TimeoutSeconds); it was stopped."),
                // R's process ends when the columns it decodes do not fit in the memory the host gave it: nothing else
                // runs then. (On an Rserve of one's own, it is as likely to have been stopped.)
                RserveException { Status: null } or IOException when assigning && MemoryLimited => OutOfMemory(
                    name, "the call's columns need", "R's process ended while it received them."),
                RserveException { Status: ObjectTooBig or OutOfMemoryStatus } => OutOfMemory(
                    name, "the script's answer needs", $"Rserve could not hold it to send it: {e.Message}"),
                _ => new CallFailure(
                    CallFailureKind.Unavailable,
                    $"{name}: the R session failed: {e.Message} The next call gets a new session."),
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
            throw Failure(name, ((RStringVector)value).Values[0] ?? string.Empty);
        }

        var (columns, rows, description) =
            RData.Answer(value, definition, call.RowsRead, name, options.StrictAnswerLength);
        if (description is null && rows != call.RowsRead && definition.FunctionType != SseFunctionType.Aggregation)
        {
            // The call's own log line, which follows, names its app and user.
            Log.LengthDiffers(logger, name, rows, call.RowsRead);
        }

        await call.Response.WriteAsync(columns, rows, description).ConfigureAwait(false);
    }

    // Whether Rserve can give each call an R process of its own depends on its system, not the host's: asked once.
    private async Task LearnRserveOSAsync(RSession session, CancellationToken cancellationToken)
    {
        var os = await RservePlatform.ReadAsync(session.Connection, cancellationToken).ConfigureAwait(false);
        options.RserveOS = os;
        if (!RservePlatform.Forks(os) && !options.ReuseSessions)
        {
            Log.NoFork(logger, string.Join(", ", options.RserveAddresses), os);
        }
    }

    // R's error as the call's status: running out of memory is ResourceExhausted.
    private CallFailure Failure(string name, string rMessage) =>
        rMessage.StartsWith("cannot allocate", StringComparison.Ordinal)
        || rMessage.Contains("memory exhausted", StringComparison.Ordinal)
            ? OutOfMemory(name, "the R script needs", $"R error: {rMessage}")
            : new CallFailure(CallFailureKind.InvalidInput, $"{name}: R error: {rMessage}");

    // Whether the host limits the memory of each R process: it runs Rserve, not on Windows.
    private bool MemoryLimited => options.Start && !OperatingSystem.IsWindows() && options.MemoryLimitMegabytes > 0;

    // Names the limit when the host set it.
    private CallFailure OutOfMemory(string name, string need, string detail) => new(
        CallFailureKind.LimitExceeded,
        MemoryLimited
            ? $"{name}: {need} more memory than the {options.MemoryLimitMegabytes} MB an R process may use "
              + $"(SsePlugin:Rserve:MemoryLimitMegabytes); raise it or give the script less data. {detail}"
            : $"{name}: R ran out of memory; give the script less data. {detail}");

    private static partial class Log
    {
        [LoggerMessage(
            1,
            LogLevel.Warning,
            "{Function}: the R script returned {Values} values for {Rows} rows; they were sent "
            + "as they are, as Qlik's R plugin does (SsePlugin:Rserve:StrictAnswerLength refuses such answers)")]
        public static partial void LengthDiffers(
            ILogger logger, string function, int values, long rows);

        [LoggerMessage(
            2,
            LogLevel.Warning,
            "Rserve at {Address} runs R on {System}, where it cannot fork: R sessions serve call after call, put "
            + "back between calls by R code as with SsePlugin:Rserve:ReuseSessions (trusted scripts only); Rserve "
            + "there serves one session at a time: set SsePlugin:Rserve:PoolSize to 1")]
        public static partial void NoFork(ILogger logger, string address, string system);
    }
}
