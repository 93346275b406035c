using SsePlugin.Rserve;

namespace SsePlugin.R;

/// <summary>
/// One R session: an Rserve connection (Rserve forks one R process per connection) prepared to run calls, and the
/// id of that R process. On the Rserve the host runs, that process leads a process group of its own, so that ending
/// the session ends every process its calls started; isolated, it also runs under a user id of its own, which the
/// session holds, and ending the session ends every process of that id.
/// </summary>
/// <param name="connection">The prepared connection.</param>
/// <param name="processId">The R process's id.</param>
/// <param name="startTime">
/// When the R process started (<see cref="RserveProcess.StartTime"/>) if it leads a process group of its own, which
/// <see cref="Close"/> then ends; else null.
/// </param>
/// <param name="isolation">
/// When isolated: the block of ids, the user id the session holds in it, and the R process's temporary folder (which
/// Rserve made for that id), all three given back by <see cref="Close"/>; else null.
/// </param>
internal sealed class RSession(
    RserveConnection connection,
    int processId,
    long? startTime,
    (IsolationIdBlock Ids, uint UserId, string Temp)? isolation)
    : IAsyncDisposable
{
    /// <summary>
    /// Defines <c>.sse$run()</c>, which runs a call's script: it takes <c>.sse.call</c> (a list of <c>q</c> and
    /// <c>script</c>), gives the script a fresh environment of its own holding <c>q</c>, turns an R error into a value
    /// of class <c>sse.error</c> holding R's message. In an R process that has run a call before (a reused session,
    /// or Rserve on Windows, which does not fork) it first puts the session back as the init script left it, as far as
    /// R lets it: what the script left in the global environment (<c>&lt;&lt;-</c>, <c>assign</c>) is removed,
    /// globals it changed or removed are restored (the random number stream goes on), and so are the options and
    /// environment variables it changed and the search path (<c>attach</c>, <c>library</c>). Answers are made ready
    /// for Qlik in R: times in their own time zone's wall clock, list columns of data frames as text.
    /// <c>.sse$open()</c> starts a session: the init script's error if it failed, else the process id and temporary
    /// folder, after making the process the leader of a session (and process group) of its own when asked to.
    /// </summary>
    private const string Define = """
        .sse <- new.env()
        .sse$state <- new.env()
        .sse$state$used <- FALSE
        .sse$changed <- function(now, saved)
          names(saved)[!vapply(names(saved), function(n) identical(now[[n]], saved[[n]]), TRUE)]
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
          if (is.list(x)) return(vapply(x, function(v)
            if (length(v) == 0 || all(is.na(v))) NA_character_ else paste(format(v), collapse = ", "), ""))
          x
        }
        .sse$run <- function(reuse) {
          call <- get(".sse.call", envir = globalenv())
          if (.sse$state$used) .sse$reset() else rm(".sse.call", envir = globalenv())
          assign("used", TRUE, envir = .sse$state)
          env <- new.env(parent = globalenv())
          assign("q", call$q, envir = env)
          value <- tryCatch(eval(parse(text = call$script, keep.source = FALSE), envir = env),
                            error = function(e) structure(conditionMessage(e), class = "sse.error"))
          if (reuse) .sse$reset()
          if (is.data.frame(value)) value[] <- lapply(value, .sse$column)
          else if (!is.list(value)) value <- .sse$column(value)
          value
        }
        .sse$open <- function(lead) {
          if (!is.null(.sse$failed)) return(.sse$failed)
          if (lead && !is.null(.sse$setsid)) .C(.sse$setsid)
          list(Sys.getpid(), tempdir())
        }
        .sse$setsid <- tryCatch(
          getNativeSymbolInfo("setsid", dyn.load(Sys.glob(c("/lib/*/libc.so.6", "/lib*/libc.so.6",
            "/usr/lib/*/libc.so.6", "/usr/lib*/libc.so.6", "/lib/libc.musl-*.so.1"))[1])),
          error = function(e) NULL)
        """;

    // After the init script: the state every call starts from (globals, options, environment variables, search path),
    // and the runner cannot be replaced. The runner is compiled here, once: R's JIT would compile it again in every new
    // process, which made a call in a fresh process take some 80 ms instead of 2.
    private const string Seal = """
        .sse$baseline <- ls(globalenv(), all.names = TRUE)
        .sse$globals <- mget(setdiff(.sse$baseline, c(".sse", ".Random.seed")), envir = globalenv())
        .sse$options <- options()
        .sse$variables <- as.list(Sys.getenv())
        .sse$search <- search()
        local(for (f in c("changed", "reset", "column", "run", "open")) .sse[[f]] <- compiler::cmpfun(.sse[[f]]))
        lockEnvironment(.sse, bindings = TRUE)
        lockBinding(".sse", globalenv())
        """;

    private int _closed;

    /// <summary>Gets the connection.</summary>
    public RserveConnection Connection { get; } = connection;

    /// <summary>Gets whether the session can take another call.</summary>
    public bool IsUsable => !Connection.IsBroken;

    /// <summary>
    /// Gets the R code that prepares an R process for calls: the runner, then the administrator's init script (its
    /// error kept for <see cref="OpenAsync"/> to report), then the seal. It does nothing in a process that is prepared
    /// already: one forked from an Rserve that ran it before serving, or a Windows Rserve's one R process.
    /// </summary>
    /// <param name="initScript">R code to run first, if any.</param>
    /// <returns>The R code.</returns>
    public static string Preparation(string? initScript) =>
        $"if (!exists('.sse', envir = globalenv(), inherits = FALSE)) {{\n{Define}\n"
        + ".sse$failed <- tryCatch({ eval(parse(text = "
        + RCode.Quote((initScript ?? string.Empty).ReplaceLineEndings("\n"))
        + ", keep.source = FALSE), envir = globalenv()); NULL }, error = function(e) conditionMessage(e))\n"
        + $"{Seal}\n}}\n";

    /// <summary>Prepares a new connection (see <see cref="Preparation"/>) and starts its session.</summary>
    /// <param name="connection">A new connection.</param>
    /// <param name="preparation">
    /// The <see cref="Preparation"/> code; empty when Rserve ran it before it forked the process.
    /// </param>
    /// <param name="lead">Whether the R process becomes the leader of a process group of its own, which
    /// <see cref="Close"/> ends: only on the Rserve the host runs itself.</param>
    /// <param name="ids">When R calls are isolated (and <paramref name="lead"/>), the block of ids whose id of the R
    /// process the session holds; else null.</param>
    /// <param name="cancellationToken">Cancels the preparation.</param>
    /// <returns>The session; null when a live session holds the R process's id (the process is ended).</returns>
    /// <exception cref="RSessionSetupException">
    /// The init script failed, or the R process could not lead a process group of its own when asked to, or does not
    /// run under an id of the block.
    /// </exception>
    public static async Task<RSession?> OpenAsync(
        RserveConnection connection,
        string preparation,
        bool lead,
        IsolationIdBlock? ids,
        CancellationToken cancellationToken)
    {
        var open = preparation + (lead ? ".sse$open(TRUE)" : ".sse$open(FALSE)");
        var answer = await connection.EvalAsync(open, cancellationToken).ConfigureAwait(false);
        return answer switch
        {
            RList { Items: [RIntegerVector { Length: 1 } id, RStringVector { Length: 1 } temp] } =>
                Started(connection, id.Values[0], temp.Values[0] ?? string.Empty, lead, ids),
            RStringVector { Length: 1 } failed => throw new RSessionSetupException(
                "The R init script (SsePlugin:Rserve:InitScript) failed: "
                + (failed.Values[0]?.Trim() ?? "unknown error")),
            _ => throw new RserveException("Rserve answered the session's start with an unexpected value."),
        };
    }

    /// <summary>
    /// Ends the session at once: closes the connection (a running command fails) and, on the Rserve the host runs,
    /// kills its R process with every process started in its process group (<c>system()</c>, <c>mcparallel</c>);
    /// isolated, also every other process of its user id, deletes its temporary folder and gives the id back.
    /// </summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 1)
        {
            return;
        }

        if (startTime is { } started)
        {
            RserveProcess.KillProcessGroup(processId, started);
        }

        if (isolation is var (ids, userId, temp))
        {
            // Also what the call left in sessions of its own, and its folder, as the call's own id (which a process of
            // another id cannot turn onto files that id may not delete); the id is given back once that is done.
            _ = EndUserAsync(ids, userId, temp);
        }

        Connection.Abort();
    }

    public ValueTask DisposeAsync() => Connection.DisposeAsync();

    private static async Task EndUserAsync(IsolationIdBlock ids, uint userId, string temp)
    {
        try
        {
            await RserveProcess.EndUserAsync(userId, temp).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RserveException or IOException or UnauthorizedAccessException
            or System.ComponentModel.Win32Exception)
        {
            // What the id may not delete (another id's files in a folder it opened to all) stays until Rserve stops.
        }
        finally
        {
            ids.Release(userId);
        }
    }

    private static RSession? Started(
        RserveConnection connection, int processId, string temp, bool lead, IsolationIdBlock? ids)
    {
        if (!lead)
        {
            return new RSession(connection, processId, null, null);
        }

        if (!RserveProcess.LeadsProcessGroup(processId))
        {
            throw new RSessionSetupException(
                $"R process {processId} could not make itself the leader of a process group of its own: R "
                + "found no C library (libc.so.6) to call setsid from, so the host cannot end what R calls start. "
                + "Run Rserve yourself (without --start-rserve) and set SsePlugin:Rserve:ReuseSessions.");
        }

        var started = RserveProcess.StartTime(processId);
        if (ids is null)
        {
            return new RSession(connection, processId, started, null);
        }

        // Rserve does not check that its switch to the connection's id worked, nor skip ids in use.
        var userId = RserveProcess.UserId(processId);
        if (userId is not { } id || !ids.IsSessionId(id))
        {
            RserveProcess.KillProcessGroup(processId, started ?? 0);
            throw new RSessionSetupException(
                $"R process {processId} runs as user id {userId}, not as one of its own ({ids.First + 1} and up): "
                + "Rserve could not switch it to one. Check the Rserve package (random.uid), or set "
                + "SsePlugin:Rserve:IsolationIdBase to 0.");
        }

        if (!ids.TryHold(id))
        {
            RserveProcess.KillProcessGroup(processId, started ?? 0);
            return null;
        }

        return new RSession(connection, processId, started, (ids, id, temp));
    }
}

/// <summary>A new R session cannot be used: the init script failed, or R cannot be confined as needed.</summary>
/// <param name="message">What failed, and the fix.</param>
internal sealed class RSessionSetupException(string message) : Exception(message);
