using System.Diagnostics;
using System.Net;
using SsePlugin.Rserve;

namespace SsePlugin.Server.Scripting.R;

/// <summary>
/// One R session: an Rserve connection (Rserve forks one R process per connection) prepared to run calls, and the
/// id of that R process, so that abandoned work on a local Rserve can be stopped instead of running on.
/// </summary>
internal sealed class RSession(RserveConnection connection, int processId, bool local) : IAsyncDisposable
{
    /// <summary>
    /// Runs a call's script: takes <c>.sse.call</c> (list of <c>q</c> and <c>script</c>) out of the global
    /// environment, gives the script a fresh environment of its own holding <c>q</c>, and turns an R error into a
    /// value of class <c>sse.error</c> holding R's message.
    /// </summary>
    public const string Runner = """
        .sse.run <- function() {
          call <- get(".sse.call", envir = globalenv())
          rm(".sse.call", envir = globalenv())
          env <- new.env(parent = globalenv())
          assign("q", call$q, envir = env)
          tryCatch(eval(parse(text = call$script, keep.source = FALSE), envir = env),
                   error = function(e) structure(conditionMessage(e), class = "sse.error"))
        }
        Sys.getpid()
        """;

    /// <summary>Gets the connection.</summary>
    public RserveConnection Connection { get; } = connection;

    /// <summary>Gets whether the session can take another call.</summary>
    public bool IsUsable => !Connection.IsBroken;

    /// <summary>Prepares a new connection: the runner, then the administrator's init script.</summary>
    /// <exception cref="RInitScriptException">The init script failed.</exception>
    public static async Task<RSession> OpenAsync(RserveConnection connection, string host, string? initScript, CancellationToken cancellationToken)
    {
        var pid = await connection.EvalAsync(Runner, cancellationToken).ConfigureAwait(false) is RIntegerVector { Length: 1 } id ? id.Values[0] : 0;
        if (!string.IsNullOrWhiteSpace(initScript))
        {
            try
            {
                await connection.VoidEvalAsync(initScript.ReplaceLineEndings("\n"), cancellationToken).ConfigureAwait(false);
            }
            catch (RserveException e) when (e.Status is not null && !connection.IsBroken)
            {
                throw new RInitScriptException(await ErrorMessageAsync(connection, cancellationToken).ConfigureAwait(false));
            }
        }

        return new RSession(connection, pid, IsLoopback(host));
    }

    /// <summary>Stops the session's R work at once: closes the connection and, on a local Rserve, ends its R process.</summary>
    public void Abandon()
    {
        Connection.Abort();
        if (local && processId > 0)
        {
            try
            {
                using var process = Process.GetProcessById(processId);
                process.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // The R process has already ended.
            }
        }
    }

    public ValueTask DisposeAsync() => Connection.DisposeAsync();

    private static async Task<string> ErrorMessageAsync(RserveConnection connection, CancellationToken cancellationToken) =>
        await connection.EvalAsync("geterrmessage()", cancellationToken).ConfigureAwait(false) is RStringVector { Length: > 0 } message
            ? message.Values[0]?.Trim() ?? "unknown error"
            : "unknown error";

    private static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
}

/// <summary>The init script failed on a new R session.</summary>
/// <param name="rMessage">R's error message.</param>
internal sealed class RInitScriptException(string rMessage) : Exception($"The R init script (SsePlugin:Rserve:InitScript) failed: {rMessage}");
