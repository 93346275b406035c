using System.Diagnostics;
using SsePlugin.Rserve;

namespace SsePlugin.Server.Scripting.R;

/// <summary>
/// One R session: an Rserve connection (Rserve forks one R process per connection) prepared to run calls, and the
/// id of that R process, so that abandoned work on the Rserve the host runs can be stopped instead of running on.
/// </summary>
internal sealed class RSession(RserveConnection connection, int processId, bool canEndProcess) : IAsyncDisposable
{
    /// <summary>
    /// Defines <c>.sse$run()</c>, which runs a call's script: it takes <c>.sse.call</c> (a list of <c>q</c> and
    /// <c>script</c>), gives the script a fresh environment of its own holding <c>q</c>, turns an R error into a value
    /// of class <c>sse.error</c> holding R's message, and puts the session back as the init script left it, as far as
    /// R lets it: what the script left in the global environment (<c>&lt;&lt;-</c>, <c>assign</c>) is removed, globals it
    /// changed or removed are restored (the random number stream goes on), and so are the options and environment
    /// variables it changed and the search path (<c>attach</c>, <c>library</c>), so no call sees another's data. Answers
    /// are made ready for Qlik in R: times in their own time zone's wall clock, list columns of data frames as text.
    /// </summary>
    private const string Define = """
        .sse <- new.env()
        .sse$changed <- function(now, saved) names(saved)[!vapply(names(saved), function(n) identical(now[[n]], saved[[n]]), TRUE)]
        .sse$reset <- function() {
          try(rm(list = setdiff(ls(globalenv(), all.names = TRUE), .sse$baseline), envir = globalenv()), silent = TRUE)
          try(list2env(.sse$globals, envir = globalenv()), silent = TRUE)
          try(options(.sse$options[.sse$changed(options(), .sse$options)]), silent = TRUE)
          try({
            variables <- as.list(Sys.getenv())
            added <- setdiff(names(variables), names(.sse$variables))
            if (length(added) > 0) Sys.unsetenv(added)
            changed <- .sse$changed(variables, .sse$variables)
            if (length(changed) > 0) do.call(Sys.setenv, .sse$variables[changed])
          }, silent = TRUE)
          # Newest first, so that a package goes before the packages it needs.
          while (length(added <- which(!(search() %in% .sse$search))) > 0 &&
                 !inherits(try(detach(pos = added[1], force = TRUE), silent = TRUE), "try-error")) NULL
        }
        .sse$column <- function(x) {
          if (inherits(x, "POSIXct")) return(as.POSIXct(format(x, "%Y-%m-%d %H:%M:%OS6"), tz = "UTC"))
          if (inherits(x, "Date")) return(structure(as.numeric(x), class = "Date"))
          if (is.list(x)) return(vapply(x, function(v) if (length(v) == 0 || all(is.na(v))) NA_character_ else paste(format(v), collapse = ", "), ""))
          x
        }
        .sse$run <- function() {
          call <- get(".sse.call", envir = globalenv())
          .sse$reset()
          env <- new.env(parent = globalenv())
          assign("q", call$q, envir = env)
          value <- tryCatch(eval(parse(text = call$script, keep.source = FALSE), envir = env),
                            error = function(e) structure(conditionMessage(e), class = "sse.error"))
          .sse$reset()
          if (is.data.frame(value)) value[] <- lapply(value, .sse$column)
          else if (!is.list(value)) value <- .sse$column(value)
          value
        }
        """;

    // After the init script: the state every call starts from (globals, options, environment variables, search path),
    // and the runner cannot be replaced.
    private const string Seal = """
        .sse$baseline <- ls(globalenv(), all.names = TRUE)
        .sse$globals <- mget(setdiff(.sse$baseline, c(".sse", ".Random.seed")), envir = globalenv())
        .sse$options <- options()
        .sse$variables <- as.list(Sys.getenv())
        .sse$search <- search()
        lockEnvironment(.sse, bindings = TRUE)
        lockBinding(".sse", globalenv())
        Sys.getpid()
        """;

    /// <summary>Gets the connection.</summary>
    public RserveConnection Connection { get; } = connection;

    /// <summary>Gets whether the session can take another call.</summary>
    public bool IsUsable => !Connection.IsBroken;

    /// <summary>Prepares a new connection: the runner, then the administrator's init script.</summary>
    /// <param name="connection">A new connection.</param>
    /// <param name="initScript">R code to run first, if any.</param>
    /// <param name="canEndProcess">Whether <see cref="Abandon"/> may end the session's R process: only for the Rserve the host runs itself.</param>
    /// <param name="cancellationToken">Cancels the preparation.</param>
    /// <exception cref="RInitScriptException">The init script failed.</exception>
    public static async Task<RSession> OpenAsync(RserveConnection connection, string? initScript, bool canEndProcess, CancellationToken cancellationToken)
    {
        await connection.VoidEvalAsync(Define, cancellationToken).ConfigureAwait(false);
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

        var pid = await connection.EvalAsync(Seal, cancellationToken).ConfigureAwait(false) is RIntegerVector { Length: 1 } id ? id.Values[0] : 0;
        return new RSession(connection, pid, canEndProcess);
    }

    /// <summary>Stops the session's R work at once: closes the connection and, on the Rserve the host runs, ends its R process.</summary>
    public void Abandon()
    {
        Connection.Abort();
        if (canEndProcess && processId > 0)
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
}

/// <summary>The init script failed on a new R session.</summary>
/// <param name="rMessage">R's error message.</param>
internal sealed class RInitScriptException(string rMessage) : Exception($"The R init script (SsePlugin:Rserve:InitScript) failed: {rMessage}");
